"""Settings, read once from ``MAOO_*`` environment variables into a frozen object.

Every variable MAOO reads is named here and nowhere else. Defaults are the safe ones: offline
rule-based mode, the embedded engine, SQLite under ``runtime/``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from chalicelib.bounds import GUARD_BOUNDS, SETTING_BOUNDS, TOOL_COST_BOUND, Bound
from chalicelib.errors import ConfigError

ENGINES = ("embedded", "localstack", "aws")
STORES = ("sqlite", "dynamodb")
APPROVALS = ("none", "writes")  # which steps wait for a person: none, or every write
WORKFLOW_TYPES = ("standard", "express")  # the state machine's type (the template's WorkflowType)

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


def _parse_number(name: str, raw: str, bound: Bound) -> float:
    """``raw`` as a number within ``bound``; anything else (``inf``, ``nan``, out of range) is refused."""
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; use {bound.describe()}") from None
    if not bound.accepts(value):
        raise ConfigError(f"{name}={raw!r} is not accepted; use {bound.describe()}")
    return value


def _number(name: str, default: float, minimum: float = 0.0) -> float:
    """An ``MAOO_*`` number, checked against its documented range (``bounds.SETTING_BOUNDS``)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    bound = SETTING_BOUNDS.get(name, Bound(minimum, float("1e9")))
    return _parse_number(name, raw, bound)


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
    log_level: str = "INFO"
    runs_table: str = "maoo-runs"
    idempotency_table: str = "maoo-idempotency"
    memory_table: str = "maoo-memory"
    trace_ttl_days: float = 30.0
    localstack_url: str = "http://127.0.0.1:4566"
    state_machine_arn: str | None = None
    guards_overrides: dict[str, float] = field(default_factory=dict)
    tool_costs: dict[str, float] = field(default_factory=dict)
    idempotent_origins_override: tuple[str, ...] | None = None
    # LLM mode (MAOO_NO_LLM_MODE=false): an OpenAI-compatible endpoint, checked when loaded
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)  # never printed with the settings
    openai_model: str | None = None
    llm_timeout_seconds: float = 20.0
    llm_max_retries: int = 2
    llm_backoff_seconds: float = 0.5
    llm_backoff_max_seconds: float = 4.0
    llm_max_tokens: int = 2000
    # durable runs (README "Crashes, resume and approvals")
    approval: str = "none"
    approval_ttl_seconds: float = 86_400.0
    lease_seconds: float = 30.0
    store_timeout_seconds: float = 30.0
    workflow_type: str = "standard"  # express: the run store, not DescribeExecution, says how a run ended
    # express: an execution ends at a checkpoint after this long and the run goes on in a new one
    express_slice_seconds: float = 240.0
    express_max_continuations: int = 10

    def llm_missing(self) -> list[str]:
        """The endpoint variables LLM mode needs and does not have (empty when it can run)."""
        return [name for key, name in _LLM_VARS.items() if not getattr(self, key)]

    @property
    def llm_requested(self) -> bool:
        """``MAOO_NO_LLM_MODE=false``: the model is asked first, the rules remain the fallback.

        With an endpoint variable missing the run stays rule-based and the trace says which one is
        missing (an ``llm`` event with outcome ``fallback``): a run is never refused for it.
        """
        return not self.no_llm_mode

    def check_runtime_dir(self) -> Path:
        """Create the runtime folder if needed and prove it is writable, or raise ``ConfigError``.

        Called before a run starts, so that a folder that is a file, read-only or under ``/proc``
        is one clear message naming ``MAOO_RUNTIME_DIR`` instead of a traceback from a store.
        """
        path = self.runtime_dir
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path, prefix=".write-probe-"):
                pass  # created and removed: the folder takes files
        except OSError as exc:
            not_folder = path.exists() and not path.is_dir()
            reason = "it is not a folder" if not_folder else (exc.strerror or type(exc).__name__)
            raise ConfigError(
                f"MAOO_RUNTIME_DIR={str(path)!r} cannot be used ({reason}); set MAOO_RUNTIME_DIR to a "
                "folder this process can create and write (the default is ./runtime)"
            ) from None
        return path

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
        if not sep or not TOOL_COST_BOUND.accepts(cost):
            raise ConfigError(
                f"MAOO_TOOL_COSTS entry {item!r} is not accepted; use tool=cost, e.g. http_get=1,calc=0.5, "
                f"with a cost {TOOL_COST_BOUND.describe()}"
            )
        costs[name.strip()] = cost
    return costs


_GUARD_VARS = {
    "max_steps": "MAOO_MAX_STEPS",
    "max_retries_per_step": "MAOO_MAX_RETRIES_PER_STEP",
    "max_retries": "MAOO_MAX_RETRIES",
    "budget": "MAOO_BUDGET",
    "deadline_seconds": "MAOO_DEADLINE_SECONDS",
    "non_progress_limit": "MAOO_NON_PROGRESS_LIMIT",
    "llm_token_budget": "MAOO_LLM_TOKEN_BUDGET",
}


def _origins(name: str, raw: str) -> tuple[str, ...]:
    try:
        return tuple(origin_of(item.strip()) for item in raw.split(",") if item.strip())
    except ConfigError as exc:
        raise ConfigError(
            f"{name}: {exc}; give comma-separated http(s) origins like http://127.0.0.1:8765"
        ) from None


_LLM_VARS = {
    "openai_base_url": "MAOO_OPENAI_BASE_URL",
    "openai_api_key": "MAOO_OPENAI_API_KEY",
    "openai_model": "MAOO_OPENAI_MODEL",
}


def _llm_endpoint() -> dict[str, str | None]:
    """The endpoint settings. Missing ones are not an error here: see ``Settings.llm_missing``."""
    values = {key: (os.environ.get(name) or "").strip() or None for key, name in _LLM_VARS.items()}
    base_url = values["openai_base_url"]
    if base_url:
        try:
            origin_of(base_url)
        except ConfigError:
            raise ConfigError(
                f"MAOO_OPENAI_BASE_URL={base_url!r} is not an http(s) URL; give the API root, "
                "e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1"
            ) from None
        values["openai_base_url"] = base_url.rstrip("/")
    return values


def _guard_overrides() -> dict[str, float]:
    """The guard defaults set by ``MAOO_MAX_STEPS`` etc.; unset or empty ones are left out.

    A set value must be within the guard's range (``bounds.GUARD_BOUNDS``): ``MAOO_BUDGET=inf``
    or ``MAOO_MAX_STEPS=-1`` is a configuration error, never a silently replaced default.
    """
    overrides: dict[str, float] = {}
    for key, var in _GUARD_VARS.items():
        raw = os.environ.get(var)
        if raw is None or raw.strip() == "":
            continue
        value = _parse_number(var, raw, GUARD_BOUNDS[key])
        overrides[key] = int(value) if GUARD_BOUNDS[key].whole else value
    return overrides


def _integer(name: str, default: int, minimum: int) -> int:
    value = _number(name, default, minimum=minimum)
    if not float(value).is_integer():
        raise ConfigError(f"{name}={os.environ.get(name)!r} is not a whole number")
    return int(value)


def _load() -> Settings:
    allowlist = _origins("MAOO_HTTP_ALLOWLIST", os.environ.get("MAOO_HTTP_ALLOWLIST", ""))
    mock_url = os.environ.get("MAOO_MOCK_API_URL", "").strip() or None
    if mock_url:
        _origins("MAOO_MOCK_API_URL", mock_url)
    guards = _guard_overrides()
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
        log_level=_choice("MAOO_LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper(),
        runs_table=os.environ.get("MAOO_RUNS_TABLE", "").strip() or "maoo-runs",
        idempotency_table=os.environ.get("MAOO_IDEMPOTENCY_TABLE", "").strip() or "maoo-idempotency",
        memory_table=os.environ.get("MAOO_MEMORY_TABLE", "").strip() or "maoo-memory",
        trace_ttl_days=_number("MAOO_TRACE_TTL_DAYS", 30.0, minimum=1.0),
        localstack_url=os.environ.get("MAOO_LOCALSTACK_URL", "").strip() or "http://127.0.0.1:4566",
        state_machine_arn=os.environ.get("MAOO_STATE_MACHINE_ARN", "").strip() or None,
        workflow_type=_choice("MAOO_WORKFLOW_TYPE", "standard", WORKFLOW_TYPES),
        express_slice_seconds=_number("MAOO_EXPRESS_SLICE_SECONDS", 240.0),
        express_max_continuations=_integer("MAOO_EXPRESS_MAX_CONTINUATIONS", 10, minimum=0),
        guards_overrides=guards,
        tool_costs=_tool_costs(os.environ.get("MAOO_TOOL_COSTS", "")),
        idempotent_origins_override=(
            _origins("MAOO_IDEMPOTENT_ORIGINS", os.environ["MAOO_IDEMPOTENT_ORIGINS"])
            if "MAOO_IDEMPOTENT_ORIGINS" in os.environ
            else None
        ),
        **_llm_endpoint(),
        llm_timeout_seconds=_number("MAOO_LLM_TIMEOUT_SECONDS", 20.0, minimum=0.05),
        llm_max_retries=_integer("MAOO_LLM_MAX_RETRIES", 2, minimum=0),
        llm_backoff_seconds=_number("MAOO_LLM_BACKOFF_SECONDS", 0.5),
        llm_backoff_max_seconds=_number("MAOO_LLM_BACKOFF_MAX_SECONDS", 4.0),
        llm_max_tokens=_integer("MAOO_LLM_MAX_TOKENS", 2000, minimum=16),
        approval=_choice("MAOO_APPROVAL", "none", APPROVALS),
        approval_ttl_seconds=_number("MAOO_APPROVAL_TTL_SECONDS", 86_400.0, minimum=0.0),
        lease_seconds=_number("MAOO_LEASE_SECONDS", 30.0, minimum=1.0),
        store_timeout_seconds=_number("MAOO_STORE_TIMEOUT_SECONDS", 30.0, minimum=0.0),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings. Call ``reload_settings()`` after changing the environment."""
    return _load()


def reload_settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()
