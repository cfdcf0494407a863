"""Powertools Logger, Metrics and Tracer, created on first use.

Locally, logs and EMF metrics go to ``runtime/logs/`` (``MAOO_LOG_DESTINATION=file``) so that the
CLI's own output stays clean; in Lambda, set ``MAOO_LOG_DESTINATION=stdout`` and CloudWatch reads
them. The Tracer (it imports the X-Ray SDK, about 200 ms) is only built when tracing is enabled.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalicelib.config import get_settings

NAMESPACE = "MAOO"
SERVICE = "maoo"
_lock = threading.Lock()


_files: dict[str, Any] = {}


def _stream(name: str):
    """Where log lines and metrics go under the current settings (files opened once per path)."""
    settings = get_settings()
    if settings.log_destination == "stdout":
        return sys.stdout
    if settings.log_destination == "stderr":
        return sys.stderr
    path = settings.logs_dir / name
    with _lock:
        if str(path) not in _files:
            settings.logs_dir.mkdir(parents=True, exist_ok=True)
            _files[str(path)] = open(path, "a", encoding="utf-8", buffering=1)
        return _files[str(path)]


class _SettingsStreamHandler(logging.StreamHandler):
    """Writes where the settings say at the time of each record, so a process whose
    ``MAOO_RUNTIME_DIR`` changes (tests, the eval's per-scenario folders) logs to the right place."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(_stream("maoo.jsonl"))
        super().emit(record)


@lru_cache(maxsize=1)
def get_logger():
    from aws_lambda_powertools import Logger

    logger = Logger(service=SERVICE, logger_handler=_SettingsStreamHandler(), level=get_settings().log_level)
    logging.getLogger(SERVICE).propagate = False  # our handler only: never echoed by a root handler
    return logger


@lru_cache(maxsize=1)
def _metrics_provider():
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=NAMESPACE, service=SERVICE)


def emit_metrics(counts: dict[str, float], **dimensions: str) -> None:
    """Write one EMF document with these counters (zero counts are left out)."""
    from aws_lambda_powertools.metrics import MetricUnit

    counts = {name: value for name, value in counts.items() if value}
    if not counts:
        return
    metrics = _metrics_provider()
    with _lock:
        for key, value in dimensions.items():
            metrics.add_dimension(name=key, value=value)
        for name, count in counts.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
        document = metrics.serialize_metric_set()
        metrics.clear_metrics()
    _stream("metrics.jsonl").write(json.dumps(document) + "\n")


def lambda_logged(handler: Callable[[dict, Any], Any]) -> Callable[[dict, Any], Any]:
    """Log lines of this invocation carry Lambda's request id, function name and cold-start flag.

    Powertools' ``inject_lambda_context`` reads them from the context object; a call without a
    Lambda-like context (a unit test passing ``None``) runs the handler as it is.
    """

    def wrapper(event: dict, context: Any) -> Any:
        if not hasattr(context, "aws_request_id") or not hasattr(context, "invoked_function_arn"):
            return handler(event, context)
        return get_logger().inject_lambda_context(handler)(event, context)

    wrapper.__name__ = getattr(handler, "__name__", "handler")
    wrapper.__doc__ = handler.__doc__
    return wrapper


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() not in ("1", "true", "yes")


def traced(handler: Callable[[dict, Any], Any]) -> Callable[[dict, Any], Any]:
    """Capture the handler with the Powertools Tracer when tracing is on; free when it is off."""

    def wrapper(event: dict, context: Any) -> Any:
        if not tracing_enabled():
            return handler(event, context)
        return _tracer().capture_lambda_handler(handler)(event, context)

    wrapper.__name__ = getattr(handler, "__name__", "handler")
    wrapper.__doc__ = handler.__doc__
    return wrapper


@lru_cache(maxsize=1)
def _tracer():
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)
