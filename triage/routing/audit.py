"""The audit trail of model calls: one ``ModelCall`` row per attempt, written before the money is spent.

An attempt's row is inserted (``pending``) before its request leaves, holding the prompt tokens and
the most the call can cost (the prompt plus the request's token limit, at the model's prices), and
completed with what the provider reported when the call returns. A worker that dies in between
leaves the pending row; recovery (:func:`calls_interrupt`) marks it ``interrupted``, still priced at
that worst case and flagged estimated, which analytics shows as "possibly billed". So every request
that reached a provider has its row, and nothing is held in memory waiting to be written.

Plain ORM writes on the caller's connection and transaction. Never stores an API key or message text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from triage.models import CallOutcome, ModelCall
from triage.routing.config import ModelSpec
from triage.routing.profile import Usage, usage_cost

INTERRUPTED_NOTE = (
    "interrupted: the worker stopped while this call was in flight; priced at the most it could cost"
)


def model_cost(model: ModelSpec, usage: Usage) -> Decimal:
    return usage_cost(model, usage)


@dataclass(frozen=True)
class CallOrigin:
    """Who asked: the router, task, ticket and step a row is filed under."""

    router_id: int | None
    task_name: str
    ticket_id: int | None
    step_id: int | None


def _row(model: ModelSpec, origin: CallOrigin, **values: Any) -> ModelCall:
    return ModelCall.objects.create(
        model_id=model.id, model_slug=model.slug, started_at=timezone.now(), **asdict(origin), **values
    )


def worst_case_limit(model: ModelSpec, prompt_tokens: int, budget: int | None) -> int:
    """The most output a call can be billed: the token limit sent, else what the context leaves."""
    return budget if budget else max(model.context_window - prompt_tokens, 0)


def worst_case_cost(model: ModelSpec, prompt_tokens: int, budget: int | None) -> Decimal:
    """The most a call can cost: its prompt plus its worst-case output, at the model's prices."""
    limit = worst_case_limit(model, prompt_tokens, budget)
    return model_cost(model, Usage(prompt_tokens, limit, estimated=True))


def call_open(model: ModelSpec, origin: CallOrigin, *, prompt_tokens: int, budget: int | None) -> ModelCall:
    """The attempt's row, written before its request is sent (outcome ``pending``, priced at its
    worst case: the same amount a budget reserved for it)."""
    return _row(
        model,
        origin,
        outcome=CallOutcome.PENDING,
        prompt_tokens=prompt_tokens,
        completion_tokens=worst_case_limit(model, prompt_tokens, budget),
        tokens_estimated=True,
        cost=worst_case_cost(model, prompt_tokens, budget),
    )


def call_skipped(model: ModelSpec, origin: CallOrigin, *, outcome: str, error: str) -> ModelCall:
    """An attempt that was never sent (open circuit, no key, deadline reached): free, one write."""
    return _row(model, origin, outcome=outcome, error=error[:2000])


def call_close(
    call: ModelCall, *, outcome: str, latency_ms: int, usage: Usage, cost: Decimal, error: str = ""
) -> None:
    """Complete the attempt's row with what the call really did (still pending: nobody settled it)."""
    values = {
        "outcome": outcome,
        "latency_ms": latency_ms,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cached_tokens": usage.cached_tokens,
        "tokens_estimated": usage.estimated,
        "cost": cost,
        "error": error[:2000],
    }
    ModelCall.objects.filter(pk=call.pk, outcome=CallOutcome.PENDING).update(**values)
    for name, value in values.items():
        setattr(call, name, value)


def calls_interrupt(calls: QuerySet[ModelCall]) -> int:
    """Settle pending rows whose worker is gone: interrupted, kept at their worst-case cost."""
    return calls.filter(outcome=CallOutcome.PENDING).update(
        outcome=CallOutcome.INTERRUPTED, error=INTERRUPTED_NOTE
    )
