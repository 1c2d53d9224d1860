"""The local brief writer: a structured brief made of the ticket's own sentences."""

from __future__ import annotations

import pytest

from tests.local_models.conftest import ask, request_for
from triage.local_models.brief import BriefWriter

OUTAGE = (
    "Our team has been unable to access the dashboard since 09:14 UTC. ~200 internal users blocked. "
    "Logs attached show 502s from the API gateway. We already restarted our VPN and cleared caches."
)


def brief_for(subject: str, body: str, tier: str = "") -> dict:
    return ask("escalate_complex_issue", subject, body, tier)


def test_brief_has_every_field_the_pipeline_reads() -> None:
    brief = brief_for("Production outage", OUTAGE, tier="enterprise")
    assert set(brief) == {"summary", "problem", "impact", "evidence", "tried", "next_steps"}
    assert isinstance(brief["next_steps"], list) and brief["next_steps"]


def test_fields_are_the_tickets_own_sentences() -> None:
    brief = brief_for("Production outage", OUTAGE, tier="enterprise")
    assert "unable to access the dashboard since 09:14 UTC" in brief["problem"]
    assert "~200 internal users blocked." in brief["impact"]
    assert "Logs attached show 502s from the API gateway." in brief["evidence"]
    assert brief["tried"] == "We already restarted our VPN and cleared caches."


def test_summary_names_tier_subject_urgency_and_signals() -> None:
    summary = brief_for("Production outage", OUTAGE, tier="enterprise")["summary"]
    assert summary.startswith("Enterprise customer")
    assert "Production outage" in summary and "urgency 5/5" in summary
    assert "many users blocked" in summary


def test_next_steps_follow_the_evidence() -> None:
    steps = " ".join(brief_for("Production outage", OUTAGE, tier="enterprise")["next_steps"])
    assert "502" in steps and "09:14" in steps
    assert "account manager" in steps


def test_missing_facts_are_said_to_be_missing_not_invented() -> None:
    brief = brief_for("Export broken", "The export crashes.")
    assert brief["tried"] == "Nothing stated in the ticket."
    assert brief["evidence"] == "None provided in the ticket."


def test_other_tasks_are_refused() -> None:
    with pytest.raises(ValueError):
        BriefWriter().reply(request_for("escalate_complex_issue", "x", "y"), task="draft_customer_reply")
