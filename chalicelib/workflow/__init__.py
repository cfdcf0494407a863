"""Running the state machine: the definition (``definition``), the boto3 Step Functions runner
(``sfn_runner``), engine selection (``engines``) and run documents (``runs``). The embedded engine
is not here: it is not Lambda code (see the top-level ``embedded_engine`` package)."""
