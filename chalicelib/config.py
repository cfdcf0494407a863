"""Settings, read once from ``MAOO_*`` environment variables into a frozen object.

Every variable MAOO reads is named here and nowhere else. Defaults are the safe ones: offline
rule-based mode, the embedded engine, SQLite under ``runtime/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from chalicelib.errors import ConfigError

ENGINES = ("embedded", "localstack", "aws")
STORES = ("sqlite", "dynamodb")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false")


def _number(name: str, default: float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not accepted; use one of: {', '.join(choices)}")
    return value


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL, with the default port made explicit."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{url!r} is not an http(s) URL with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


@dataclass(frozen=True)
class Settings:
    runtime_dir: Path
    engine: str
    store: str
    mock_api_url: str | None
    http_allowlist: tuple[str, ...]
    no_llm_mode: bool
    region: str
    state_machine_name: str
    function_prefix: str
    large_output_bytes: int
    http_timeout_seconds: float
    backoff_base_seconds: float
    backoff_max_seconds: float
    log_destination: str
    guards_overrides: dict[str, float] = field(default_factory=dict)
    tool_costs: dict[str, float] = field(default_factory=dict)
    idempotent_origins_override: tuple[str, ...] | None = None

    @property
    def traces_dir(self) -> Path:
        return self.runtime_dir / "traces"

    @property
    def files_dir(self) -> Path:
        return self.runtime_dir / "files"

    @property
    def db_path(self) -> Path:
        return self.runtime_dir / "maoo.sqlite3"

    @property
    def ops_db_path(self) -> Path:
        return self.runtime_dir / "ops.sqlite3"

    @property
    def logs_dir(self) -> Path:
        return self.runtime_dir / "logs"

    def allowed_origins(self) -> tuple[str, ...]:
        """The origins ``http_*`` tools may reach: the mock API's plus any configured."""
        origins = list(self.http_allowlist)
        if self.mock_api_url:
            origins.append(origin_of(self.mock_api_url))
        return tuple(dict.fromkeys(origins))

    def idempotent_origins(self) -> tuple[str, ...]:
        """Origins known to honour ``Idempotency-Key``: ``MAOO_IDEMPOTENT_ORIGINS``, else the mock API's."""
        if self.idempotent_origins_override is not None:
            return self.idempotent_origins_override
        return (origin_of(self.mock_api_url),) if self.mock_api_url else ()


def _tool_costs(raw: str) -> dict[str, float]:
    costs: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, value = item.partition("=")
        try:
            cost = float(value)
        except ValueError:
            cost = -1.0
        if not sep or cost < 0:
            raise ConfigError(f"MAOO_TOOL_COSTS entry {item!r} is not accepted; use tool=cost, e.g. http_get=1,calc=0.5")
        costs[name.strip()] = cost
    return costs


_GUARD_VARS = {
    "max_steps": "MAOO_MAX_STEPS",
    "max_retries_per_step": "MAOO_MAX_RETRIES_PER_STEP",
    "max_retries": "MAOO_MAX_RETRIES",
    "budget": "MAOO_BUDGET",
    "deadline_seconds": "MAOO_DEADLINE_SECONDS",
    "non_progress_limit": "MAOO_NON_PROGRESS_LIMIT",
}


def _origins(name: str, raw: str) -> tuple[str, ...]:
    try:
        return tuple(origin_of(item.strip()) for item in raw.split(",") if item.strip())
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}; give comma-separated http(s) origins like http://127.0.0.1:8765") from None


def _load() -> Settings:
    allowlist = _origins("MAOO_HTTP_ALLOWLIST", os.environ.get("MAOO_HTTP_ALLOWLIST", ""))
    mock_url = os.environ.get("MAOO_MOCK_API_URL", "").strip() or None
    if mock_url:
        _origins("MAOO_MOCK_API_URL", mock_url)
    guards = {key: _number(var, -1.0, minimum=-1.0) for key, var in _GUARD_VARS.items()}
    return Settings(
        runtime_dir=Path(os.environ.get("MAOO_RUNTIME_DIR", "runtime")).resolve(),
        engine=_choice("MAOO_ENGINE", "embedded", ENGINES),
        store=_choice("MAOO_STORE", "sqlite", STORES),
        mock_api_url=mock_url.rstrip("/") if mock_url else None,
        http_allowlist=allowlist,
        no_llm_mode=_flag("MAOO_NO_LLM_MODE", True),
        region=os.environ.get("MAOO_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
        state_machine_name=os.environ.get("MAOO_STATE_MACHINE_NAME", "maoo"),
        function_prefix=os.environ.get("MAOO_FUNCTION_PREFIX", "maoo-local-"),
        large_output_bytes=int(_number("MAOO_LARGE_OUTPUT_BYTES", 8192, minimum=256)),
        http_timeout_seconds=_number("MAOO_HTTP_TIMEOUT_SECONDS", 2.0, minimum=0.05),
        backoff_base_seconds=_number("MAOO_BACKOFF_BASE_SECONDS", 1.0),
        backoff_max_seconds=_number("MAOO_BACKOFF_MAX_SECONDS", 8.0),
        log_destination=_choice("MAOO_LOG_DESTINATION", "file", ("file", "stdout", "stderr")),
        guards_overrides={k: v for k, v in guards.items() if v >= 0},
        tool_costs=_tool_costs(os.environ.get("MAOO_TOOL_COSTS", "")),
        idempotent_origins_override=(
            _origins("MAOO_IDEMPOTENT_ORIGINS", os.environ["MAOO_IDEMPOTENT_ORIGINS"])
            if "MAOO_IDEMPOTENT_ORIGINS" in os.environ else None
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings. Call ``reload_settings()`` after changing the environment."""
    return _load()


def reload_settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()
