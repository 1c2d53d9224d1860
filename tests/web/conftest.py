"""Fixtures for the agent pages: logged-in clients and tickets with steps in any state.

``make_ticket`` writes rows directly (no model calls) so a page test can set up exactly the
state it checks: a step running, failed over, degraded, skipped for a low urgency...
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.pipeline.conftest import stub_triage_router  # noqa: F401 - fixture
from tests.support.fixtures import (  # noqa: F401 - fixtures
    local_provider,
    make_model,
    make_router,
    stub_openai,
    stub_provider,
    test_local_model,
)

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"

DONE_STEPS: dict[str, dict[str, Any]] = {
    "classify_ticket": {
        "result": {"category": "bug", "confidence": 0.9},
        "served_by": "openai-gpt-5-nano",
        "latency_ms": 412,
        "prompt_tokens": 180,
        "completion_tokens": 12,
        "cost": Decimal("0.0000138"),
    },
    "urgency_detection": {
        "result": {"score": 2, "sentiment": "calm", "escalation_risk": False, "reason": "a question"},
        "served_by": "anthropic-claude-haiku-4.5",
        "latency_ms": 655,
        "prompt_tokens": 200,
        "completion_tokens": 25,
        "cost": Decimal("0.000325"),
    },
    "draft_customer_reply": {
        "result": {"reply": "Thanks for writing in. We are looking at the export bug now."},
        "served_by": "anthropic-claude-haiku-4.5",
        "latency_ms": 1480,
        "prompt_tokens": 240,
        "completion_tokens": 60,
        "cost": Decimal("0.00054"),
    },
}


class MakeTicket(Protocol):
    def __call__(self, *, subject: str = ..., body: str = ..., status: str = ..., **kwargs: Any) -> Any: ...


@pytest.fixture
def agent_client(client: Client, agent_user: User) -> Client:
    client.force_login(agent_user)
    return client


@pytest.fixture
def staff_client(client: Client, staff_user: User) -> Client:
    client.force_login(staff_user)
    return client


@pytest.fixture
def make_ticket(presets: None) -> MakeTicket:
    """A ticket on the preset ``triage-router``; ``steps`` overrides per step, ``None`` = pending."""
    from django.utils import timezone

    from triage.models import ModelCall, Router, Ticket, TriageStep

    router = Router.objects.get(name="triage-router")

    def make(
        *,
        subject: str = "Export button crashes",
        body: str = "When I click export the page goes blank.",
        status: str = Ticket.Status.TRIAGED,
        steps: dict[str, dict[str, Any] | None] | None = None,
        brief_skip: str | None = "urgency 2 < threshold 4",
        **fields: Any,
    ) -> Ticket:
        settled = status in ("triaged", "needs_attention", "failed")
        defaults: dict[str, Any] = {"category": "bug", "urgency_score": 2} if settled else {}
        ticket = Ticket.objects.create(
            subject=subject, body=body, status=status, router=router, **{**defaults, **fields}
        )
        chosen: dict[str, dict[str, Any] | None] = dict(DONE_STEPS) if settled else {}
        chosen.update(steps or {})
        rows = []
        for name in (
            "classify_ticket",
            "urgency_detection",
            "draft_customer_reply",
            "escalate_complex_issue",
        ):
            spec = chosen.get(name)
            if name == "escalate_complex_issue" and spec is None and settled and brief_skip:
                rows.append(
                    TriageStep(ticket=ticket, task_name=name, status="skipped", skip_reason=brief_skip)
                )
                continue
            if spec is None:
                rows.append(TriageStep(ticket=ticket, task_name=name))
                continue
            spec = dict(spec)
            spec.setdefault("status", "done")
            spec.setdefault(
                "attempts",
                [{"model": spec.get("served_by", ""), "outcome": "ok", "latency_ms": 10, "error": ""}],
            )
            rows.append(TriageStep(ticket=ticket, task_name=name, **spec))
        TriageStep.objects.bulk_create(rows)
        calls = [
            ModelCall(
                router=router,
                task_name=step.task_name,
                model_slug=step.served_by,
                ticket=ticket,
                step=step,
                started_at=timezone.now(),
                latency_ms=step.latency_ms or 0,
                outcome="ok",
                prompt_tokens=step.prompt_tokens,
                completion_tokens=step.completion_tokens,
                cost=step.cost,
            )
            for step in TriageStep.objects.filter(ticket=ticket, status="done")
        ]
        ModelCall.objects.bulk_create(calls)
        return ticket

    return make
