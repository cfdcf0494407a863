"""One question to the model on behalf of a state: budget, call, contract, trace, metrics, counters.

Every outcome is recorded as one ``llm`` trace event (and an ``LLMCalls`` metric): ``used`` (the
answer validated and passed its check), ``fallback`` (the rule-based answer is used instead;
``reason`` says why) or ``stopped`` (the run's ``llm_token_budget`` is spent: the run stops with
stop reason ``llm_token_budget`` and the answer is not used). Tokens an answer cost count against
the budget even when the answer is unusable: they were spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.config import get_settings
from chalicelib.contracts import RunState
from chalicelib.errors import describe_validation_error
from chalicelib.journal import journal_event, journal_metrics
from chalicelib.llm.client import ChatClient
from chalicelib.llm.errors import LLMError, LLMSchemaError
from chalicelib.llm.usage import Usage

T = TypeVar("T", bound=BaseModel)
STOP_REASON = "llm_token_budget"
_DETAIL_CHARS = 300


@dataclass(frozen=True)
class Consultation(Generic[T]):
    """``value`` is the model's validated answer, or ``None`` when the caller keeps its rule-based one."""

    value: T | None
    state: RunState

    @property
    def stopped(self) -> bool:
        return self.state.status != "running"


def consult(
    state: RunState,
    where: str,
    purpose: str,
    contract: type[T],
    messages: Callable[[], tuple[str, str]],
    check: Callable[[T], None],
) -> Consultation[T]:
    """Ask the model for a ``contract``; ``check`` raises an ``LLMError`` for a valid but unusable answer."""
    settings = get_settings()
    model = settings.openai_model or "(none)"
    budget, spent = state.guards.llm_token_budget, state.counters.llm_tokens
    if missing := settings.llm_missing():
        return _finish(
            state,
            where,
            purpose,
            None,
            "fallback",
            "not_configured",
            f"MAOO_NO_LLM_MODE=false but {', '.join(missing)} is not set: rule-based {purpose}",
            model,
            None,
            0,
        )
    if spent >= budget:
        return _finish(
            state,
            where,
            purpose,
            None,
            "stopped",
            STOP_REASON,
            f"{spent} model tokens used; llm_token_budget is {budget}: the model is not asked again",
            model,
            None,
            0,
        )
    started = time.monotonic()
    usage: Usage | None = None
    value: T | None = None
    attempts = 0
    try:
        client = ChatClient.from_settings(settings)
        system, user = messages()
        completion = client.complete_json(
            system=system,
            user=user,
            schema_name=contract.__name__,
            schema=contract.model_json_schema(),
            max_tokens=budget - spent,
        )
        usage, attempts, model = completion.usage, completion.attempts, completion.model
        try:
            value = contract.model_validate(completion.data)
        except ValidationError as exc:
            raise LLMSchemaError(
                f"the answer does not validate against {contract.__name__}: {describe_validation_error(exc, limit=5)}",
                usage=usage,
                attempts=attempts,
            ) from None
        check(value)
        outcome, reason, detail = "used", "valid", f"{contract.__name__} from the model"
    except LLMError as exc:
        usage, attempts = exc.usage or usage, exc.attempts or attempts
        value, outcome, reason, detail = None, "fallback", exc.reason, str(exc)
    except Exception as exc:  # a fault in the LLM path never costs the run: the rules still answer
        value, outcome, reason, detail = None, "fallback", "error", f"{type(exc).__name__}: {exc}"
    total = spent + (usage.total if usage else 0)
    if total > budget:
        value, outcome, reason = None, "stopped", STOP_REASON
        detail = f"the model used {total} tokens in this run; llm_token_budget is {budget}"
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    return _finish(state, where, purpose, value, outcome, reason, detail, model, usage, attempts, latency_ms)


def _finish(
    state: RunState,
    where: str,
    purpose: str,
    value: T | None,
    outcome: str,
    reason: str,
    detail: str,
    model: str,
    usage: Usage | None,
    attempts: int,
    latency_ms: float = 0.0,
) -> Consultation[T]:
    detail = detail[:_DETAIL_CHARS]
    total = state.counters.llm_tokens + (usage.total if usage else 0)
    journal_event(
        "llm",
        where,
        purpose=purpose,
        outcome=outcome,
        reason=reason,
        detail=detail,
        model=model,
        tokens=(usage or Usage()).as_dict(),
        run_tokens=total,
        budget=state.guards.llm_token_budget,
        attempts=attempts,
        latency_ms=latency_ms,
    )
    journal_metrics(
        {
            "LLMCalls": int(attempts > 0),
            "LLMTokens": usage.total if usage else 0,
            "LLMFallbacks": int(outcome == "fallback"),
        },
        purpose=purpose,
    )
    note = {
        "used": f"llm: {purpose} from the model {model}",
        "stopped": f"llm: the run stops ({detail})",
    }.get(outcome, f"llm: rule-based {purpose} ({reason}: {detail})")
    update = {
        "counters": state.counters.model_copy(update={"llm_tokens": total}),
        "plan_notes": [*state.plan_notes, note],
    }
    if outcome == "stopped":
        journal_event("stop", where, reason=STOP_REASON, detail=detail)
        update.update(
            status="stopped", stop_reason=STOP_REASON, stop_detail=detail, plan_ok=False, replan=None
        )
    return Consultation(value=value, state=state.model_copy(update=update))
