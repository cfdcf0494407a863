"""A small client for OpenAI-compatible ``POST {base_url}/chat/completions`` that wants JSON back.

It works with OpenAI, vLLM, Ollama and anything else that speaks that wire format. A caller may
rely on this:

- the request carries the JSON schema twice: as ``response_format`` (``json_schema``) for servers
  that constrain decoding, and in the system prompt (the caller puts it there) for those that do not;
- 429 and 5xx answers and dropped connections are retried, at most ``max_retries`` times, with
  exponential backoff capped at ``backoff_max_seconds`` (a ``Retry-After`` is honoured within that
  cap). A timeout is not retried: a late answer falls back rather than making the run later still;
- every failure is an ``LLMError`` whose ``reason`` names what went wrong; the API key is never part
  of a message, even when a server echoes it back;
- ``requests`` is imported on the first call, never when this module is imported.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.llm.errors import (
    LLMHTTPError,
    LLMMalformedError,
    LLMRefusalError,
    LLMTimeoutError,
    LLMUnavailableError,
)
from chalicelib.llm.usage import Usage

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)
_EXCERPT = 300


@dataclass(frozen=True)
class Completion:
    """A usable answer: the parsed JSON, the text it came from, and what it cost."""

    data: Any
    text: str
    model: str
    usage: Usage
    attempts: int


class ChatClient:
    """One model on one endpoint. Create it per call or keep it: it holds no connection."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        timeout_seconds: float = 20.0,
        max_retries: int = 2,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 4.0,
        max_tokens: int = 2000,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.max_tokens = max_tokens
        self._api_key = api_key
        self._sleep = sleep

    def __repr__(self) -> str:  # the key stays out of reprs, and so out of tracebacks and logs
        return f"ChatClient(url={self.url!r}, model={self.model!r})"

    @classmethod
    def from_settings(cls, settings: Any) -> ChatClient:
        return cls(
            settings.openai_base_url,
            settings.openai_api_key,
            settings.openai_model,
            timeout_seconds=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
            backoff_seconds=settings.llm_backoff_seconds,
            backoff_max_seconds=settings.llm_backoff_max_seconds,
            max_tokens=settings.llm_max_tokens,
        )

    def complete_json(
        self,
        *,
        system: str,
        user: str,
        schema_name: str,
        schema: dict[str, Any],
        max_tokens: int | None = None,
    ) -> Completion:
        """Ask for one JSON answer; raises an ``LLMError`` when there is none to use."""
        payload = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": False},
            },
            "temperature": 0,
            "max_tokens": min(self.max_tokens, max_tokens) if max_tokens else self.max_tokens,
        }
        response, attempts = self._post(payload)
        return self._parse(response, payload, attempts)

    # ------------------------------------------------------------ transport

    def _post(self, payload: dict[str, Any]) -> tuple[Any, int]:
        import requests

        from chalicelib.wallclock import bounded_request  # the limit covers the whole answer, body included

        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        last = ""
        for attempt in range(1, self.max_retries + 2):
            retry_after = None
            try:
                response = bounded_request(
                    "POST", self.url, seconds=self.timeout_seconds, json=payload, headers=headers
                )
            except requests.Timeout:
                raise LLMTimeoutError(
                    f"no answer from {self.url} within {self.timeout_seconds:g} s", attempts=attempt
                ) from None
            except requests.RequestException as exc:
                last = f"cannot reach {self.url} ({type(exc).__name__})"
            else:
                status = response.status_code
                if status < 400:
                    return response, attempt
                if status != 429 and status < 500:
                    raise LLMHTTPError(
                        status, f"HTTP {status} from {self.url}: {self._excerpt(response)}", attempts=attempt
                    )
                last = f"HTTP {status} from {self.url}: {self._excerpt(response)}"
                retry_after = _seconds(response.headers.get("Retry-After"))
            if attempt > self.max_retries:
                break
            self._sleep(self._wait(attempt, retry_after))
        raise LLMUnavailableError(
            f"{last} (gave up after {self.max_retries + 1} attempts)", attempts=self.max_retries + 1
        )

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        backoff = self.backoff_seconds * 2 ** (attempt - 1)
        return min(self.backoff_max_seconds, max(backoff, retry_after or 0.0))

    # ------------------------------------------------------------ answer

    def _parse(self, response: Any, payload: dict[str, Any], attempts: int) -> Completion:
        try:
            body = response.json()
        except ValueError:
            raise LLMMalformedError(
                f"the endpoint's answer is not JSON: {self._excerpt(response)}", attempts=attempts
            ) from None
        try:
            choice = body["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise LLMMalformedError(
                "the endpoint's answer is not a chat completion (no choices[0].message)", attempts=attempts
            ) from None
        content = message.get("content") if isinstance(message, dict) else None
        usage = _usage(body.get("usage"), payload, content if isinstance(content, str) else "")
        refusal = message.get("refusal") if isinstance(message, dict) else None
        if refusal or choice.get("finish_reason") == "content_filter":
            said = self._scrub(str(refusal or "stopped by the content filter"))[:_EXCERPT]
            raise LLMRefusalError(f"the model refused: {said}", usage=usage, attempts=attempts)
        if not isinstance(content, str) or not content.strip():
            raise LLMMalformedError("the model's answer is empty", usage=usage, attempts=attempts)
        fenced = _FENCE.match(content)
        text = fenced.group(1) if fenced else content
        try:
            data = json.loads(text)
        except ValueError as exc:
            cut = " (cut short: finish_reason=length)" if choice.get("finish_reason") == "length" else ""
            raise LLMMalformedError(
                f"the model's answer is not JSON{cut}: {exc}", usage=usage, attempts=attempts
            ) from None
        return Completion(
            data=data, text=text, model=str(body.get("model") or self.model), usage=usage, attempts=attempts
        )

    def _excerpt(self, response: Any) -> str:
        try:
            body = response.json()
            text = (
                body["error"]["message"]
                if isinstance(body, dict) and isinstance(body.get("error"), dict)
                else json.dumps(body)
            )
        except (ValueError, KeyError, TypeError):
            text = response.text
        return self._scrub(" ".join(str(text).split()))[:_EXCERPT] or "(no body)"

    def _scrub(self, text: str) -> str:
        """``text`` without the API key, whatever shape the key has."""
        return text.replace(self._api_key, "[REDACTED]") if self._api_key else text


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: the capped backoff applies
    return seconds if seconds is not None and seconds >= 0 else None


def _usage(reported: Any, payload: dict[str, Any], content: str) -> Usage:
    if isinstance(reported, dict):
        prompt, completion = reported.get("prompt_tokens"), reported.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int) and prompt >= 0 and completion >= 0:
            return Usage(prompt, completion)
        total = reported.get("total_tokens")
        if isinstance(total, int) and total >= 0:
            return Usage(total, 0)
    sent = sum(len(m["content"]) for m in payload["messages"]) + len(json.dumps(payload["response_format"]))
    return Usage(sent // 4 + 1, len(content) // 4 + 1, estimated=True)
