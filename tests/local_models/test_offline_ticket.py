"""With no provider key set, the preset routers still triage a whole ticket through the local tier."""

from __future__ import annotations

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


def _sample(subject: str) -> dict[str, str]:
    return next(dict(t) for t in SAMPLE_TICKETS if t["subject"] == subject)


def test_urgent_ticket_is_fully_triaged_by_local_models(presets: None, no_keys: None) -> None:
    ticket = ticket_submit(**_sample("Production outage"))
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
    assert steps["classify_ticket"].result["category"] == "bug"
    assert steps["urgency_detection"].result["score"] == 5
    assert "502" in steps["draft_customer_reply"].result["reply"]
    assert "200 internal users blocked" in steps["escalate_complex_issue"].result["impact"]
    assert all(s.cost == 0 for s in steps.values())


def test_calm_ticket_skips_the_brief_offline(presets: None, no_keys: None) -> None:
    ticket = ticket_submit(**_sample("Password reset"))
    triage_ticket(ticket_id=ticket.pk)
    steps = {s.task_name: s for s in ticket.steps.filter(is_current=True)}
    assert steps["classify_ticket"].result["category"] == "account"
    assert steps["urgency_detection"].result["score"] <= 2
    assert steps["escalate_complex_issue"].status == "skipped"


def test_support_bot_router_answers_offline(presets: None, no_keys: None) -> None:
    faq = route("support-bot-router", [{"role": "user", "content": "What are your support hours?"}])
    question = "My Kubernetes pod keeps crashing with OOMKilled errors after I scaled up"
    hard = route("support-bot-router", [{"role": "user", "content": question}])
    assert faq.served_by == hard.served_by == "local/support-bot"
    assert "Monday to Friday" in faq.content
    assert "will follow up" in hard.content
