"""The eval's scenarios as tests: one mock API per test session, a fresh runtime folder per test."""

from __future__ import annotations

import pytest

from eval.runner import EvalContext
from mock_api.server import start_in_thread


@pytest.fixture(scope="session")
def mock_api():
    with start_in_thread() as running:
        yield running


@pytest.fixture
def eval_context(mock_api, isolated_runtime):
    """Runs scenarios the way ``python -m cli eval`` does, against the session's mock API."""
    with EvalContext(runtime_dir=isolated_runtime, mock_api_url=mock_api.url) as context:
        yield context
