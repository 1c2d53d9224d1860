"""With no provider key set, the preset routers still triage a whole ticket through the local tier."""

from __future__ import annotations

from typing import Any

import pytest

from triage.models import Ticket
from triage.pipeline.triage import triage_ticket
from triage.presets import SAMPLE_TICKETS
from triage.routing import route
from triage.services.tickets import ticket_submit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DO_MODEL_ACCESS_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def _submit(subject: str) -> Ticket:
    sample = next(t for t in SAMPLE_TICKETS if t["subject"] == subject)
    return ticket_submit(
        subject=sample["subject"], body=sample["body"], customer_tier=sample.get("customer_tier", "free")
    )


def _results(ticket: Ticket) -> dict[str, dict[str, Any]]:
    return {s.task_name: s.result or {} for s in ticket.steps.filter(is_current=True)}


def test_urgent_ticket_is_fully_triaged_by_local_models(presets: None, no_keys: None) -> None:
    ticket = _submit("Production outage")
    triage_ticket(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    steps = {s.task_name: s for s in ticket.steps.filter(is_current=True)}

    assert ticket.status == Ticket.Status.TRIAGED
    assert {name: s.status for name, s in steps.items()} == dict.fromkeys(steps, "done")
    assert {s.served_by for s in steps.values()} == {
        "local/ticket-classifier",
        "local/urgency-scorer",
        "local/reply-drafter",
        "local/brief-writer",
    }
    results = _results(ticket)
    assert results["classify_ticket"]["category"] == "bug"
    assert results["urgency_detection"]["score"] == 5
    assert results["urgency_detection"]["escalation_probability"] > 0.5  # the calibrated probability, kept
    assert "502" in results["draft_customer_reply"]["reply"]
    assert "200 internal users blocked" in results["escalate_complex_issue"]["impact"]
    assert all(s.cost == 0 for s in steps.values())


def test_calm_ticket_skips_the_brief_offline(presets: None, no_keys: None) -> None:
    ticket = _submit("Password reset")
    triage_ticket(ticket_id=ticket.pk)
    steps = {s.task_name: s for s in ticket.steps.filter(is_current=True)}
    results = _results(ticket)
    assert results["classify_ticket"]["category"] == "account"
    assert results["urgency_detection"]["score"] <= 2
    assert results["urgency_detection"]["escalation_probability"] < 0.2
    assert steps["escalate_complex_issue"].status == "skipped"


def test_support_bot_router_answers_offline(presets: None, no_keys: None) -> None:
    faq = route("support-bot-router", [{"role": "user", "content": "What are your support hours?"}])
    question = "My Kubernetes pod keeps crashing with OOMKilled errors after I scaled up"
    hard = route("support-bot-router", [{"role": "user", "content": question}])
    assert faq.served_by == hard.served_by == "local/support-bot"
    assert "Monday to Friday" in faq.content
    assert "will follow up" in hard.content
