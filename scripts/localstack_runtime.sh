#!/usr/bin/env bash
# LocalStack's Python runtime on the host (no Docker): install | start | status | stop.
#   scripts/localstack_runtime.sh install             # Python 3.13 venv in ~/.cache/maoo/ (reused; MAOO_LOCALSTACK_VENV)
#   scripts/localstack_runtime.sh start [--port 4566] [--mock-config sfn-mocks.json]
#   MAOO_ENGINE=localstack python -m cli ...          # talk to it
#   scripts/localstack_runtime.sh stop
# The logic is tests/integration/localstack.py (standard library only, any python3 runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" -m tests.integration.localstack "$@"
