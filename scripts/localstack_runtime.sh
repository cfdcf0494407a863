#!/usr/bin/env bash
# LocalStack's Python runtime on the host (no Docker): install | start | status | stop.
#   scripts/localstack_runtime.sh install             # Python 3.13 venv in ~/.cache/maoo/ (reused; MAOO_LOCALSTACK_VENV)
#   scripts/localstack_runtime.sh start [--port 4566] [--mock-config sfn-mocks.json]
#   scripts/localstack_runtime.sh status [--port 4566]
#   scripts/localstack_runtime.sh stop
# It starts the services `python -m cli deploy --target localstack` needs. On the host LocalStack runs
# Step Functions (Lambda Tasks answered from the mock config) and CloudFormation, not our
# Python Lambdas: tests/integration/test_localstack_sfn.py shows how; localstack-compose.yml runs all.
# The logic is tests/integration/localstack.py (standard library only, any python3 runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" -m tests.integration.localstack "$@"
