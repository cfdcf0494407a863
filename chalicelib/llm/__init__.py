"""Optional LLM mode: an OpenAI-compatible model as an alternative source of perceptions and plans.

Off by default (``MAOO_NO_LLM_MODE=true``). When on, the Perceive and Plan states ask the model
first; what it answers must validate against the same contracts (``PerceivedState``, ``Plan``), and
a plan then goes through the same policy, validator and critic as a rule-based one. Any answer that
cannot be used (late, refused, not JSON, not the contract) falls back to the rule-based layer, and
the trace records an ``llm`` event saying which source was used and why.

Importing this package is cheap: ``requests`` is imported when the first request is sent.
"""

from chalicelib.llm.errors import (
    LLMError,
    LLMHTTPError,
    LLMMalformedError,
    LLMRefusalError,
    LLMSchemaError,
    LLMTimeoutError,
    LLMUnavailableError,
    LLMUnusableError,
)

__all__ = [
    "LLMError",
    "LLMHTTPError",
    "LLMMalformedError",
    "LLMRefusalError",
    "LLMSchemaError",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "LLMUnusableError",
]
