"""Secrets out of everything MAOO records: trace events, logs, run documents, exported traces.

``redact(value)`` returns a copy of JSON-like data (dicts, lists, tuples, strings, scalars) in
which secrets are replaced by ``REDACTED``. Two kinds of evidence are used:

- the key: a value stored under a key whose words name a secret (``api_key``, ``apiKey``,
  ``Authorization``, ``x-auth-token``, ``client_secret``, ``password``, ``cookie``, ...) is
  replaced whole when it is text or a container. Numbers and booleans under such keys are kept,
  so counts like ``max_tokens: 100`` survive;
- the text: anywhere in any string, credential-shaped text is replaced in place: OpenAI-style
  ``sk-...`` keys, ``Bearer``/``Basic`` credentials, AWS access key ids (``AKIA...``), GitHub
  and Slack tokens, JWTs, the password in ``scheme://user:password@host`` and secret-named query
  parameters (``?api_key=...``).

A string that holds JSON (an object, an array, or a JSON-encoded string: the engine's execution
history stores state input and output that way, and error causes nest one more level) is parsed,
redacted as data and serialised again when anything changed.
The function is idempotent and never raises on JSON-like input; keys are never changed.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_WORDS = frozenset(
    {
        "authorization",
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "cookie",
        "credential",
        "credentials",
        "signature",
        "privatekey",
        "sessionid",
    }
)
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("session", "key"),
        ("client", "secret"),
        ("auth", "token"),
        ("x", "api"),
        ("set", "cookie"),
        ("session", "id"),
    }
)
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE), rf"\1 {REDACTED}"),
    (re.compile(r"\b(Basic)\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}"), rf"\1 {REDACTED}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"), REDACTED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), REDACTED),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}\b"), REDACTED),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"(?<=://)([^/\s:@]+):([^/\s@]+)@"), rf"\1:{REDACTED}@"),
    (
        re.compile(
            r"(?i)([?&;](?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|client[_-]?secret|password|signature|sig)=)[^&#\s\"']+"
        ),
        rf"\1{REDACTED}",
    ),
)


def _key_words(key: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(_CAMEL.sub("_", key).lower()) if w]


def is_secret_key(key: Any) -> bool:
    """True when a mapping key names a secret (``api_key``, ``Authorization``, ``clientSecret``...)."""
    return isinstance(key, str) and _is_secret_key_name(key)


@lru_cache(maxsize=4096)  # keys repeat across every event of a trace
def _is_secret_key_name(key: str) -> bool:
    words = _key_words(key)
    if any(word in _SECRET_WORDS or word.endswith(("token", "secret", "password")) for word in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(words, words[1:], strict=False))


def redact_text(text: str) -> str:
    """``text`` with every credential-shaped piece replaced."""
    if len(text) < 8:  # shorter than any pattern can match
        return text
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(
    maxsize=2048
)  # an execution history repeats each state document (output of one = input of the next)
def _redact_string(text: str) -> str:
    stripped = text.strip()
    if len(stripped) > 1 and (stripped[0], stripped[-1]) in (("{", "}"), ("[", "]"), ('"', '"')):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list, str)):
            cleaned = redact(parsed)
            return text if cleaned == parsed else json.dumps(cleaned, separators=(",", ":"), default=str)
    return redact_text(text)


def redact(value: Any) -> Any:
    """A copy of ``value`` with secrets replaced by ``REDACTED`` (see the module docstring)."""
    if isinstance(value, str):
        return _redact_string(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if is_secret_key(key) and item is not None and not isinstance(item, (bool, int, float)):
                out[key] = REDACTED
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


def redact_under(key: Any, value: Any) -> Any:
    """``value`` redacted as ``redact`` leaves it when it is found under ``key`` in a mapping
    (``key`` ``None``: at the top). Lets a stored part be redacted once, apart from its document."""
    if is_secret_key(key) and value is not None and not isinstance(value, (bool, int, float)):
        return REDACTED
    return redact(value)
