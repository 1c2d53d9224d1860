"""A ticket's triage result in the triage article's response shape (used by /triage and the CLI)."""

from __future__ import annotations

from typing import Any

from triage.models import Ticket, TriageStep
from triage.pipeline.subtasks import BRIEF, CLASSIFY, REPLY, URGENCY, subtask_label, subtask_names
from triage.routing.pricing import dollars

SETTLED = (Ticket.Status.TRIAGED, Ticket.Status.NEEDS_ATTENTION, Ticket.Status.FAILED)


def current_steps(ticket: Ticket) -> dict[str, TriageStep]:
    return {s.task_name: s for s in ticket.steps.filter(is_current=True)}


def ticket_triage_result(ticket: Ticket, steps: dict[str, TriageStep] | None = None) -> dict[str, Any]:
    """The article's shape: category, urgency{score, sentiment, escalation_risk, reason}, reply,
    escalation_summary and routes."""
    steps = steps if steps is not None else current_steps(ticket)

    def result(name: str) -> dict[str, Any]:
        step = steps.get(name)
        return step.result if step is not None and isinstance(step.result, dict) else {}

    urgency = result(URGENCY)
    brief = result(BRIEF)
    routes = []
    for name in subtask_names():
        step = steps.get(name)
        if step is None or step.status != TriageStep.Status.DONE:
            continue
        routes.append(
            {
                "task": name,
                "latency_ms": step.latency_ms or 0,
                "mode": "router",
                "selected_model": step.served_by,
                "prompt_tokens": step.prompt_tokens,
                "completion_tokens": step.completion_tokens,
                "total_tokens": step.prompt_tokens + step.completion_tokens,
            }
        )
    return {
        "ticket_id": ticket.pk,
        "status": ticket.status,
        "category": result(CLASSIFY).get("category"),
        "urgency": {
            "score": urgency.get("score"),
            "sentiment": urgency.get("sentiment"),
            "escalation_risk": urgency.get("escalation_risk"),
            "reason": urgency.get("reason"),
        },
        "reply": result(REPLY).get("reply"),
        "escalation_summary": brief.get("summary") if brief else None,
        "routes": routes,
    }


def step_as_dict(step: TriageStep) -> dict[str, object]:
    """A step as the API and webhooks show it."""
    return {
        "task": step.task_name,
        "label": subtask_label(step.task_name),
        "status": step.status,
        "result": step.result,
        "served_by": step.served_by,
        "latency_ms": step.latency_ms,
        "prompt_tokens": step.prompt_tokens,
        "completion_tokens": step.completion_tokens,
        "reasoning_tokens": step.reasoning_tokens,
        "cached_tokens": step.cached_tokens,
        "cost": dollars(step.cost),
        "attempts": step.attempts or [],
        "degraded": step.degraded,
        "error": step.error,
        "skip_reason": step.skip_reason,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
    }


def ticket_as_dict(ticket: Ticket) -> dict[str, object]:
    """A ticket's fields as the API and webhooks show them (its router must be loaded)."""
    return {
        "id": ticket.pk,
        "subject": ticket.subject,
        "status": ticket.status,
        "channel": ticket.channel,
        "customer_tier": ticket.customer_tier,
        "account_id": ticket.account_id,
        "language": ticket.language,
        "router": ticket.router.name,
        "connector": ticket.connector.name if ticket.connector_id and ticket.connector else None,
        "external_id": ticket.external_id,
        "customer_email": ticket.customer_email,
        "customer_name": ticket.customer_name,
        "category": ticket.category,
        "urgency_score": ticket.urgency_score,
        "escalated": ticket.escalated,
        "attention_reason": ticket.attention_reason,
        "created_at": ticket.created_at,
        "triaged_at": ticket.triaged_at,
    }
