"""A scripted, deterministic OpenAI-compatible ``POST /v1/chat/completions`` for tests and demos.

What it answers is chosen, in this order, by:

1. a marker in the last user message, ``[[mock-llm:<name>]]``, one of ``MARKERS``: ``echo`` (valid
   JSON quoting the message), ``malformed``, ``schema_violation``, ``refusal``, ``http_429``,
   ``http_500``, ``slow`` (a valid answer after 30 s, i.e. later than any test's timeout);
2. the next answer of the queue a test armed with ``POST /_admin/llm/script``
   ``{"answers": [...]}``: ``{"kind": "content", "content": <JSON value or raw text>, "usage": ...}``,
   ``{"kind": "refusal", "message": ...}`` or ``{"kind": "error", "status": 429, "retry_after": 0}``;
   any answer may carry ``delay_seconds`` (a slow answer);
3. otherwise a refusal saying that nothing was scripted.

Every request is recorded with its body and its ``Authorization`` header (``GET /_admin/llm/requests``)
so a test can check that the schema was sent and the key arrived as a Bearer credential.
``POST /_admin/llm/reset`` clears the queue and the record and wakes any slow answer still waiting;
the general ``/_admin/reset`` leaves the LLM script alone, so a test may arm it before a run.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

MAX_DELAY_SECONDS = 60.0
_MARKER = re.compile(r"\[\[mock-llm:([a-z0-9_]+)\]\]")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UsageIn(_Model):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)


class ContentAnswer(_Model):
    """A completion whose message content is ``content``: JSON data is serialised, text is sent as is."""

    kind: Literal["content"] = "content"
    content: Any
    usage: UsageIn | None = None
    finish_reason: str = "stop"
    delay_seconds: float = Field(default=0.0, ge=0, le=MAX_DELAY_SECONDS)


class RefusalAnswer(_Model):
    kind: Literal["refusal"]
    message: str = "I can't help with that."
    usage: UsageIn | None = None
    delay_seconds: float = Field(default=0.0, ge=0, le=MAX_DELAY_SECONDS)


class ErrorAnswer(_Model):
    """An HTTP error in OpenAI's shape; ``echo_authorization`` puts the received credential in the message."""

    kind: Literal["error"]
    status: int = Field(ge=400, le=599)
    message: str = "scripted error"
    retry_after: float | None = Field(default=None, ge=0)
    echo_authorization: bool = False
    delay_seconds: float = Field(default=0.0, ge=0, le=MAX_DELAY_SECONDS)


Answer = Annotated[ContentAnswer | RefusalAnswer | ErrorAnswer, Field(discriminator="kind")]


class ScriptIn(_Model):
    answers: list[Answer] = Field(max_length=100)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: Any = None


class ChatRequest(BaseModel):
    """What a chat completion request must have; anything else a client sends is accepted and recorded."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)


MARKERS: dict[str, Answer] = {
    "malformed": ContentAnswer(content='{"intent": "fetch", "task_type": '),
    "schema_violation": ContentAnswer(content={"intent": 42, "unexpected": True}),
    "refusal": RefusalAnswer(kind="refusal"),
    "http_429": ErrorAnswer(kind="error", status=429, message="rate limited", retry_after=0),
    "http_500": ErrorAnswer(kind="error", status=500, message="internal error"),
    "slow": ContentAnswer(content={"late": True}, delay_seconds=30.0),
}
_NOTHING_SCRIPTED = RefusalAnswer(kind="refusal", message="mock LLM: no answer is scripted for this request")


class LLMScript:
    """One app's queue of answers and record of requests."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: deque[Answer] = deque()
        self.requests: list[dict[str, Any]] = []
        self.wake = threading.Event()

    def arm(self, answers: list[Answer]) -> None:
        with self.lock:
            self.queue = deque(answers)

    def reset(self) -> None:
        with self.lock:
            self.queue.clear()
            self.requests.clear()
            self.wake.set()  # slow answers still waiting return now
            self.wake = threading.Event()

    def next_answer(self, text: str) -> tuple[Answer, str]:
        marker = _MARKER.search(text)
        if marker and marker.group(1) == "echo":
            return ContentAnswer(content={"echo": text}), "marker:echo"
        if marker and marker.group(1) in MARKERS:
            return MARKERS[marker.group(1)], f"marker:{marker.group(1)}"
        with self.lock:
            if self.queue:
                return self.queue.popleft(), "script"
        return _NOTHING_SCRIPTED, "default"


_init_lock = threading.Lock()


def _script(request: Request) -> LLMScript:
    with _init_lock:
        script = getattr(request.app.state, "llm_script", None)
        if script is None:
            script = request.app.state.llm_script = LLMScript()
    return script


def _last_user_text(body: ChatRequest) -> str:
    for message in reversed(body.messages):
        if message.role == "user":
            return message.content if isinstance(message.content, str) else json.dumps(message.content)
    return ""


def _usage(answer: Any, body: ChatRequest, content: str) -> dict[str, int]:
    """The scripted usage, else a deterministic count: about four characters a token."""
    if answer.usage is not None:
        prompt, completion = answer.usage.prompt_tokens, answer.usage.completion_tokens
    else:
        sent = sum(
            len(m.content) if isinstance(m.content, str) else len(json.dumps(m.content))
            for m in body.messages
        )
        prompt, completion = sent // 4 + 1, len(content) // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(
    seq: int, body: ChatRequest, message: dict[str, Any], finish_reason: str, usage: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-mock-{seq}",
        "object": "chat.completion",
        "created": 0,
        "model": body.model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish_reason}
        ],
        "usage": usage,
    }


router = APIRouter()


@router.post("/v1/chat/completions")
def chat_completions(body: ChatRequest, request: Request) -> JSONResponse:
    script = _script(request)
    answer, source = script.next_answer(_last_user_text(body))
    authorization = request.headers.get("authorization")
    with script.lock:
        seq = len(script.requests) + 1
        script.requests.append(
            {
                "seq": seq,
                "authorization": authorization,
                "body": body.model_dump(mode="json"),
                "answer": answer.kind,
                "source": source,
            }
        )
        wake = script.wake
    if answer.delay_seconds:
        wake.wait(answer.delay_seconds)
    if isinstance(answer, ErrorAnswer):
        message = (
            f"{answer.message} (received: {authorization})" if answer.echo_authorization else answer.message
        )
        headers = {"Retry-After": f"{answer.retry_after:g}"} if answer.retry_after is not None else None
        kind = (
            "rate_limit_exceeded"
            if answer.status == 429
            else "server_error"
            if answer.status >= 500
            else "invalid_request_error"
        )
        return JSONResponse(
            {"error": {"message": message, "type": kind, "code": kind}},
            status_code=answer.status,
            headers=headers,
        )
    if isinstance(answer, RefusalAnswer):
        return JSONResponse(
            _completion(
                seq,
                body,
                {"content": None, "refusal": answer.message},
                "stop",
                _usage(answer, body, answer.message),
            )
        )
    content = answer.content if isinstance(answer.content, str) else json.dumps(answer.content)
    return JSONResponse(
        _completion(
            seq,
            body,
            {"content": content, "refusal": None},
            answer.finish_reason,
            _usage(answer, body, content),
        )
    )


@router.post("/_admin/llm/script")
def arm_script(script_in: ScriptIn, request: Request) -> dict[str, Any]:
    """Replace the queue of answers; each chat completion without a marker takes the next one."""
    _script(request).arm(script_in.answers)
    return {"queued": len(script_in.answers)}


@router.get("/_admin/llm/script")
def pending(request: Request) -> dict[str, Any]:
    script = _script(request)
    with script.lock:
        return {"answers": [a.model_dump(mode="json") for a in script.queue]}


@router.get("/_admin/llm/requests")
def recorded(request: Request) -> dict[str, Any]:
    script = _script(request)
    with script.lock:
        return {"requests": list(script.requests)}


@router.post("/_admin/llm/reset")
def reset(request: Request) -> dict[str, str]:
    _script(request).reset()
    return {"status": "reset"}
