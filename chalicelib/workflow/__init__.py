"""Running the state machine: the definition, the boto3 runner, and the embedded engine."""
