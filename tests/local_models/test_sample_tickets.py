"""The triage article's seven sample tickets come out sensibly from the local tier alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.local_models.conftest import ask
from triage.local_models.store import LabeledTicket
from triage.presets import SAMPLE_TICKETS

SAMPLES = {ticket["subject"]: ticket for ticket in SAMPLE_TICKETS}


def triage(subject: str) -> dict[str, Any]:
    ticket = SAMPLES[subject]
    args = (ticket["subject"], ticket["body"], ticket.get("customer_tier", ""))
    return {
        "category": ask("classify_ticket", *args)["category"],
        "urgency": ask("urgency_detection", *args),
        "reply": ask("draft_customer_reply", *args)["reply"],
        "brief": ask("escalate_complex_issue", *args),
    }


def test_sample_tickets_are_not_in_the_training_data(labeled: list[LabeledTicket]) -> None:
    bodies = {row.body for row in labeled}
    assert not any(ticket["body"] in bodies for ticket in SAMPLE_TICKETS)


def test_password_reset_is_a_calm_account_question() -> None:
    result = triage("Password reset")
    assert result["category"] == "account"
    assert result["urgency"]["score"] <= 2
    assert result["urgency"]["escalation_risk"] is False


def test_invoice_question_is_billing_and_the_reply_names_the_invoice() -> None:
    result = triage("Invoice question")
    assert result["category"] == "billing"
    assert "INV-3382" in result["reply"]


def test_churn_threat_is_urgent_and_flagged() -> None:
    urgency = triage("This is ridiculous")["urgency"]
    assert urgency["score"] >= 4
    assert urgency["escalation_risk"] is True
    assert "churn threat" in urgency["reason"]


def test_production_outage_is_a_critical_escalated_bug() -> None:
    result = triage("Production outage")
    assert result["category"] == "bug"
    assert result["urgency"]["score"] == 5
    assert result["urgency"]["escalation_risk"] is True
    assert "200 internal users blocked" in result["brief"]["impact"]
    assert "502" in result["reply"]


def test_feature_request_with_a_complaint_is_a_feature_request() -> None:
    result = triage("Feature request + complaint")
    assert result["category"] == "feature-request"
    assert "bulk export" in result["reply"]


def test_api_auth_is_account_or_bug() -> None:
    result = triage("API auth")
    assert result["category"] in {"account", "bug"}
    assert "401" in result["reply"]


@pytest.mark.parametrize("subject", list(SAMPLES))
def test_every_sample_reply_is_at_most_four_sentences(subject: str) -> None:
    from triage.pipeline.parsing import count_sentences

    assert count_sentences(triage(subject)["reply"]) <= 4
