"""/api/tickets: submit, idempotency, read, list with filters, re-triage; bad input is a clear 4xx."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.api.conftest import post_json
from triage.models import Router, Ticket, TriageStep
from triage.pipeline.triage import triage_ticket

pytestmark = pytest.mark.django_db

GOOD = {"subject": "Invoice question", "body": "Why was I charged twice on invoice INV-3382?"}


def test_submit_returns_202_with_the_status_url(api: Client, presets: None) -> None:
    response = post_json(api, "/api/tickets", GOOD)
    assert response.status_code == 202
    data = response.json()
    ticket = Ticket.objects.get(pk=data["id"])
    assert data == {"id": ticket.pk, "status": "queued", "status_url": f"/api/tickets/{ticket.pk}"}
    assert response["Location"] == data["status_url"]
    assert ticket.channel == "api" and ticket.router.name == "triage-router"
    assert ticket.steps.filter(is_current=True, status="pending").count() == 4


def test_same_idempotency_key_and_payload_returns_the_first_ticket(api: Client, presets: None) -> None:
    first = post_json(api, "/api/tickets", GOOD, **{"Idempotency-Key": "abc-1"})
    again = post_json(api, "/api/tickets", GOOD, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == 202 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Ticket.objects.count() == 1


def test_idempotency_keys_are_scoped_per_api_key(api: Client, presets: None) -> None:
    """Another client reusing an Idempotency-Key gets its own ticket, never the first client's."""
    from triage.models import ApiKey

    _, other_raw = ApiKey.issue(name="other client")
    other = Client(HTTP_AUTHORIZATION=f"Bearer {other_raw}")
    mine = post_json(api, "/api/tickets", GOOD, **{"Idempotency-Key": "shared-1"})
    theirs = post_json(other, "/api/tickets", GOOD, **{"Idempotency-Key": "shared-1"})
    assert mine.status_code == 202 and theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]
    again = post_json(api, "/api/tickets", GOOD, **{"Idempotency-Key": "shared-1"})
    assert again.status_code == 200 and again.json()["id"] == mine.json()["id"]
    their_again = post_json(other, "/api/tickets", GOOD, **{"Idempotency-Key": "shared-1"})
    assert their_again.status_code == 200 and their_again.json()["id"] == theirs.json()["id"]
    # each key keeps its own rules: another payload under its idempotency key is still a 409
    different = post_json(other, "/api/tickets", {**GOOD, "body": "other"}, **{"Idempotency-Key": "shared-1"})
    assert different.status_code == 409
    assert Ticket.objects.count() == 2
    assert {t.api_key.name for t in Ticket.objects.select_related("api_key")} == {"tests", "other client"}


def test_same_idempotency_key_with_another_payload_is_a_409(api: Client, presets: None) -> None:
    post_json(api, "/api/tickets", GOOD, **{"Idempotency-Key": "abc-2"})
    response = post_json(api, "/api/tickets", {**GOOD, "body": "different"}, **{"Idempotency-Key": "abc-2"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "no subject"}, "subject"),
        ({"subject": "", "body": "x"}, "subject"),
        ({"subject": "s" * 201, "body": "x"}, "subject"),
        ({"subject": "ok"}, "body"),
        ({"subject": "ok", "body": ""}, "body"),
        ({"subject": ["not", "text"], "body": "x"}, "subject"),
        ({"subject": "ok", "body": "x", "customer_tier": "platinum"}, "customer_tier"),
    ],
)
def test_bad_tickets_get_a_4xx_naming_the_field_and_store_nothing(
    api: Client, presets: None, payload: dict[str, Any], field: str
) -> None:
    response = post_json(api, "/api/tickets", payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["param"] == field and field in error["message"]
    assert Ticket.objects.count() == 0


def test_whitespace_only_subject_is_rejected(api: Client, presets: None) -> None:
    response = post_json(api, "/api/tickets", {"subject": "   ", "body": "x"})
    assert response.status_code == 422 and response.json()["error"]["param"] == "subject"
    assert Ticket.objects.count() == 0


def test_body_over_64_kb_is_a_413(api: Client, presets: None) -> None:
    response = post_json(api, "/api/tickets", {"subject": "big", "body": "x" * (64 * 1024 + 1)})
    assert response.status_code == 413
    assert response.json()["error"]["param"] == "body"
    assert Ticket.objects.count() == 0


def test_invalid_json_is_a_400(api: Client, presets: None) -> None:
    response = api.post("/api/tickets", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


def test_unknown_fields_are_ignored(api: Client, presets: None) -> None:
    response = post_json(api, "/api/tickets", {**GOOD, "priority": "urgent"})
    assert response.status_code == 202


def test_unknown_router_is_rejected(api: Client, presets: None) -> None:
    response = post_json(api, "/api/tickets", {**GOOD, "router": "nope"})
    assert response.status_code == 404 and response.json()["error"]["param"] == "router"
    assert Ticket.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_get_shows_every_step_with_model_cost_and_attempts(
    api: Client, stub_triage_router: Any, stub_openai: Any
) -> None:
    ticket_id = post_json(api, "/api/tickets", GOOD).json()["id"]
    triage_ticket(ticket_id=ticket_id)
    data = api.get(f"/api/tickets/{ticket_id}").json()
    assert data["status"] == "triaged" and data["category"] == "bug" and data["urgency_score"] == 5
    assert [s["task"] for s in data["steps"]] == [
        "classify_ticket",
        "urgency_detection",
        "draft_customer_reply",
        "escalate_complex_issue",
    ]
    classify = data["steps"][0]
    assert classify["served_by"] == "stub-classify" and classify["result"]["category"] == "bug"
    assert classify["attempts"][0]["model"] == "stub-classify" and classify["attempts"][0]["outcome"] == "ok"
    assert float(classify["cost"]) > 0 and classify["prompt_tokens"] > 0
    assert float(data["total_cost"]) == pytest.approx(sum(float(s["cost"]) for s in data["steps"]))


def test_missing_ticket_is_a_404(api: Client, presets: None) -> None:
    response = api.get("/api/tickets/999999")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def _ticket(router: Router, **fields: Any) -> Ticket:
    return Ticket.objects.create(router=router, subject=fields.pop("subject", "t"), body="b", **fields)


def test_list_filters_and_paginates(api: Client, presets: None) -> None:
    router = Router.objects.get(name="triage-router")
    old = _ticket(router, subject="Old invoice", status="triaged", category="billing", urgency_score=2)
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    _ticket(router, subject="Outage", status="triaged", category="bug", urgency_score=5)
    _ticket(router, subject="Queued one", status="queued")
    listing = api.get("/api/tickets").json()
    assert listing["count"] == 3 and [t["subject"] for t in listing["items"]][0] == "Queued one"
    assert [t["subject"] for t in api.get("/api/tickets?category=bug").json()["items"]] == ["Outage"]
    assert [t["subject"] for t in api.get("/api/tickets?urgency_min=4").json()["items"]] == ["Outage"]
    assert api.get("/api/tickets?status=queued").json()["count"] == 1
    assert api.get("/api/tickets?q=invoice").json()["items"][0]["subject"] == "Old invoice"
    after = (timezone.now() - timedelta(days=1)).isoformat()
    assert api.get("/api/tickets", {"created_after": after}).json()["count"] == 2
    page = api.get("/api/tickets?limit=1&offset=1").json()
    assert page["count"] == 3 and len(page["items"]) == 1 and page["items"][0]["subject"] == "Outage"


def test_date_filters_take_any_iso_offset(api: Client, presets: None) -> None:
    """ISO 8601 allows offsets up to 23:59, PostgreSQL only up to 15:59: found by the API fuzz test
    (a 500 for created_after=...-18:42)."""
    router = Router.objects.get(name="triage-router")
    _ticket(router, subject="Today")
    yesterday = timezone.now() - timedelta(days=1)
    far_west = yesterday.astimezone(timezone.get_fixed_timezone(-(18 * 60 + 42))).isoformat()
    response = api.get("/api/tickets", {"created_after": far_west})
    assert response.status_code == 200 and response.json()["count"] == 1
    far_east = yesterday.astimezone(timezone.get_fixed_timezone(21 * 60 + 24)).isoformat()
    assert api.get("/api/tickets", {"created_before": far_east}).json()["count"] == 0


def test_list_rejects_an_unknown_status(api: Client, presets: None) -> None:
    response = api.get("/api/tickets?status=bogus")
    assert response.status_code == 422 and response.json()["error"]["param"] == "status"


def test_list_query_count_does_not_grow_with_rows(api: Client, presets: None) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    router = Router.objects.get(name="triage-router")

    def queries_for_a_page() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/api/tickets?limit=100").status_code == 200
        cache_work = ("triage_shared_cache", "SAVEPOINT")  # the embedded default's rate-limit counter
        return sum(1 for q in ctx.captured_queries if not any(word in q["sql"] for word in cache_work))

    Ticket.objects.bulk_create(Ticket(router=router, subject=f"t{i}", body="b") for i in range(10))
    queries_for_a_page()  # the first request also looks the API key up
    few = queries_for_a_page()
    Ticket.objects.bulk_create(Ticket(router=router, subject=f"u{i}", body="b") for i in range(150))
    assert queries_for_a_page() == few <= 3  # count, page (router joined)


def test_retriage_one_step_keeps_history_and_requeues(api: Client, presets: None) -> None:
    ticket_id = post_json(api, "/api/tickets", GOOD).json()["id"]
    TriageStep.objects.filter(ticket_id=ticket_id).update(status="done")
    Ticket.objects.filter(pk=ticket_id).update(status="triaged")
    response = api.post(f"/api/tickets/{ticket_id}/retriage?step=classify_ticket")
    assert response.status_code == 202
    assert response.json()["steps"] == ["classify_ticket"] and response.json()["status"] == "queued"
    assert TriageStep.objects.filter(ticket_id=ticket_id, task_name="classify_ticket").count() == 2


def test_retriage_rejects_an_unknown_step(api: Client, presets: None) -> None:
    ticket_id = post_json(api, "/api/tickets", GOOD).json()["id"]
    response = api.post(f"/api/tickets/{ticket_id}/retriage?step=summarize")
    assert response.status_code == 422 and response.json()["error"]["param"] == "step"


def test_routers_list_shows_tasks_pools_and_fallbacks(api: Client, presets: None) -> None:
    routers = {r["name"]: r for r in api.get("/api/routers").json()}
    triage_router = routers["triage-router"]
    assert triage_router["model"] == "router:triage-router"
    reply = next(t for t in triage_router["tasks"] if t["name"] == "draft_customer_reply")
    assert [p["model"] for p in reply["pool"]] == [
        "openai-gpt-5-nano",
        "anthropic-claude-haiku-4.5",
        "anthropic-claude-sonnet-4.6",
    ]
    assert triage_router["fallbacks"][0] == "llama3.3-70b-instruct"


@pytest.mark.django_db(transaction=True)
def test_router_stats_after_triage(api: Client, stub_triage_router: Any, stub_openai: Any) -> None:
    for _ in range(2):
        triage_ticket(ticket_id=post_json(api, "/api/tickets", GOOD).json()["id"])
    stats = api.get("/api/routers/triage-router/stats").json()
    assert stats["tickets"] == 2 and stats["requests"] == 8 and stats["served"] == 8
    assert float(stats["cost_total"]) > 0
    assert float(stats["cost_per_ticket"]) == pytest.approx(float(stats["cost_total"]) / 2, rel=1e-3)
    assert set(stats["latency_ms"]) == {
        "classify_ticket",
        "urgency_detection",
        "draft_customer_reply",
        "escalate_complex_issue",
    }
    assert stats["model_mix"]["stub-classify"] == 2 and stats["task_mix"]["classify_ticket"] == 2
    assert stats["failure_rate"] == 0 and stats["fallback_rate"] == 0
    assert api.get("/api/routers/nope/stats").status_code == 404


def test_openapi_and_docs_are_served(client: Client, agent_user: Any) -> None:
    client.force_login(agent_user)  # tests run with DEBUG off, where the docs are for agents (test_docs.py)
    schema = client.get("/api/openapi.json").json()
    assert "/api/tickets" in schema["paths"]
    assert client.get("/api/docs").status_code == 200


def test_a_ticket_says_the_language_it_was_written_in(api: Client, presets: None) -> None:
    german = {
        "subject": "Rechnung doppelt abgebucht",
        "body": "Guten Tag, uns wurde die Rechnung für November zweimal abgebucht. "
        "Bitte erstatten Sie den Betrag.",
    }
    created = post_json(api, "/api/tickets", german).json()
    assert api.get(f"/api/tickets/{created['id']}").json()["language"] == "de"
    short = post_json(api, "/api/tickets", {"subject": "refund??", "body": "refund??"}).json()
    assert api.get(f"/api/tickets/{short['id']}").json()["language"] == ""  # too short to tell
    listed = {t["id"]: t["language"] for t in api.get("/api/tickets").json()["items"]}
    assert listed[created["id"]] == "de"


def test_costs_of_zero_read_as_plain_decimals(api: Client, presets: None) -> None:
    """A ticket the $0 local tier served: "0.0000000000", not the "0E-10" a decimal column reads back."""
    router = Router.objects.get(name="triage-router")
    ticket = _ticket(router, subject="Free", status="triaged", category="how-to", urgency_score=1)
    TriageStep.objects.create(
        ticket=ticket, task_name="classify_ticket", status="done", served_by="local/ticket-classifier"
    )
    data = api.get(f"/api/tickets/{ticket.pk}").json()
    costs = [data["total_cost"], *(s["cost"] for s in data["steps"])]
    assert costs and all("E" not in c and float(c) == 0 for c in costs), costs
    stats = api.get("/api/routers/triage-router/stats").json()
    assert "E" not in stats["cost_total"] and "E" not in stats["cost_per_ticket"]


def test_a_router_that_cannot_triage_is_refused(api: Client, presets: None) -> None:
    """support-bot-router answers chat requests; a ticket sent to it would be "triaged" with every step
    skipped, so it is refused up front and nothing is stored."""
    response = post_json(api, "/api/tickets", {**GOOD, "router": "support-bot-router"})
    assert response.status_code == 422 and response.json()["error"]["param"] == "router"
    assert "none of the triage tasks" in response.json()["error"]["message"]
    assert Ticket.objects.count() == 0


def test_a_body_that_is_not_a_json_object_is_said_to_be_so(api: Client, presets: None) -> None:
    """Not "subject: Field required" for [] or "text", nor "body: Field required" (a ticket field's
    name) for an empty request."""
    cases = (("[]", "must be a JSON object"), ('"text"', "must be a JSON object"), ("", "is empty"))
    for raw, message in cases:
        response = api.post("/api/tickets", data=raw, content_type="application/json")
        error = response.json()["error"]
        assert response.status_code == 400 and message in error["message"], (raw, error)
    missing = post_json(api, "/api/tickets", {"body": "no subject"})
    assert missing.status_code == 422 and missing.json()["error"]["param"] == "subject"
    assert Ticket.objects.count() == 0
