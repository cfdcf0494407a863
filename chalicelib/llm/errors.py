"""Why a model's answer could not be used. Each error's ``reason`` is the code the trace shows."""

from __future__ import annotations

from chalicelib.errors import MaooError
from chalicelib.llm.usage import Usage


class LLMError(MaooError):
    """The model gave no usable answer. ``usage`` holds the tokens spent anyway, if any."""

    reason = "error"

    def __init__(self, message: str, *, usage: Usage | None = None, attempts: int = 1):
        super().__init__(message)
        self.usage = usage
        self.attempts = attempts


class LLMTimeoutError(LLMError):
    """No answer within ``MAOO_LLM_TIMEOUT_SECONDS`` (a late answer is not waited for, nor retried)."""

    reason = "timeout"


class LLMUnavailableError(LLMError):
    """The endpoint could not be reached, or still answered 429/5xx after the bounded retries."""

    reason = "unavailable"


class LLMHTTPError(LLMError):
    """The endpoint refused the request with a status that retrying cannot fix (400, 401, 404...)."""

    def __init__(self, status: int, message: str, **kwargs):
        super().__init__(message, **kwargs)
        self.status = status
        self.reason = f"http_{status}"


class LLMRefusalError(LLMError):
    """The model declined to answer (a ``refusal`` or a content filter)."""

    reason = "refused"


class LLMMalformedError(LLMError):
    """The answer is not JSON, or the response is not a chat completion."""

    reason = "malformed"


class LLMSchemaError(LLMError):
    """The answer is JSON but does not validate against the contract it was asked for."""

    reason = "schema"


class LLMUnusableError(LLMError):
    """The answer validates but cannot be used as it is (a plan repeating a failed step, ...)."""

    reason = "unusable"
