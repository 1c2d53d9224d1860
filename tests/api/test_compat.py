"""The triage article's contract: /triage and /triage/batch answer synchronously in its shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import post_json
from tests.support.stub_openai import StubOpenAI, answer, server_error
from triage.models import Ticket
from triage.presets import SAMPLE_TICKETS

pytestmark = pytest.mark.django_db(transaction=True)

ROUTE_KEYS = {
    "task",
    "latency_ms",
    "mode",
    "selected_model",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
}


def test_triage_answers_in_the_articles_shape(api: Client, stub_triage_router: Any) -> None:
    response = post_json(api, "/triage", SAMPLE_TICKETS[4])
    assert response.status_code == 200
    data = response.json()
    assert data["category"] == "bug"
    assert data["urgency"] == {
        "score": 5,
        "sentiment": "frustrated",
        "escalation_risk": False,
        "reason": "outage",
    }
    assert data["reply"].startswith("Thanks for reporting")
    assert data["escalation_summary"].startswith("Enterprise dashboard outage")
    assert [r["task"] for r in data["routes"]] == [
        "classify_ticket",
        "urgency_detection",
        "draft_customer_reply",
        "escalate_complex_issue",
    ]
    assert all(set(r) == ROUTE_KEYS and r["mode"] == "router" for r in data["routes"])
    assert data["routes"][0]["selected_model"] == "stub-classify"
    ticket = Ticket.objects.get(pk=data["ticket_id"])
    assert ticket.channel == "compat" and ticket.status == "triaged"


def test_calm_ticket_has_a_null_escalation_summary(
    api: Client, stub_triage_router: Any, stub_openai: StubOpenAI
) -> None:
    stub_openai.set_default(
        "stub-urgency", answer('{"score": 1, "sentiment": "neutral", "escalation_risk": false, "reason": ""}')
    )
    data = post_json(api, "/triage", SAMPLE_TICKETS[0]).json()
    assert data["escalation_summary"] is None
    assert "escalate_complex_issue" not in [r["task"] for r in data["routes"]]


def test_batch_triages_the_articles_sample_file_and_its_client_reads_it(
    api: Client, stub_triage_router: Any
) -> None:
    response = post_json(api, "/triage/batch", SAMPLE_TICKETS)
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 7 and len(data["results"]) == 7
    # what the article's batch client reads, unchanged
    for result in data["results"]:
        urgency = result["urgency"]
        assert isinstance(urgency["score"], int) and urgency["sentiment"] and "escalation_risk" in urgency
        assert result["reply"] and "escalation_summary" in result
        for route in result["routes"]:
            assert route.get("selected_model") or route.get("mode")
            assert isinstance(route["latency_ms"], int)
    assert Ticket.objects.filter(channel="compat").count() == 7


def test_batch_reports_a_failed_ticket_by_index(
    api: Client, stub_triage_router: Any, stub_openai: StubOpenAI
) -> None:
    stub_openai.script("stub-classify", answer('{"category": "bug"}'), server_error(500))
    data = post_json(api, "/triage/batch", SAMPLE_TICKETS[:2]).json()
    failed = [r for r in data["results"] if "error" in r]
    assert len(failed) == 1
    assert set(failed[0]) == {"ticket_index", "subject", "error"}
    assert "classify_ticket" in failed[0]["error"]


@pytest.mark.parametrize("size", [0, 26])
def test_batch_of_0_or_more_than_25_is_rejected(api: Client, presets: None, size: int) -> None:
    response = post_json(api, "/triage/batch", [SAMPLE_TICKETS[0]] * size)
    assert response.status_code == 422 and "1 to 25" in response.json()["error"]["message"]
    assert Ticket.objects.count() == 0


def test_batch_with_one_bad_ticket_stores_nothing(api: Client, presets: None) -> None:
    response = post_json(api, "/triage/batch", [SAMPLE_TICKETS[0], {"subject": "no body"}])
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "1.body"
    assert Ticket.objects.count() == 0


def test_triage_rejects_a_body_over_64_kb(api: Client, presets: None) -> None:
    response = api.post(
        "/triage", data=json.dumps({"subject": "big", "body": "x" * 70_000}), content_type="application/json"
    )
    assert response.status_code == 413
