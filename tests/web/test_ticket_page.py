"""The ticket page: every step with the model that served it, failover chains, live refresh."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LIVE = {"HX-Request": "true", "HX-Target": "ticket-live"}


def test_shows_ticket_facts_and_each_step_with_its_model(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket(customer_tier="enterprise", account_id="acct-42")
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Export button crashes" in html
    assert "When I click export the page goes blank." in html
    assert "Enterprise" in html and "acct-42" in html
    assert "Triaged" in html
    for slug in ("openai-gpt-5-nano", "anthropic-claude-haiku-4.5"):
        assert f'served by <code class="model">{slug}</code>' in html
    assert "412 ms" in html and "655 ms" in html and "1480 ms" in html
    assert "180 in / 12 out" in html
    assert "$0.000014" in html  # the classify step's cost
    assert "Confidence 0.90" in html
    assert "We are looking at the export bug now." in html


def test_brief_not_run_shows_the_threshold_reason(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Not escalated: urgency 2 &lt; threshold 4" in html


def test_escalation_brief_is_shown_when_it_ran(agent_client: Client, make_ticket: Any) -> None:
    brief = {
        "result": {"summary": "Dashboard outage for all users", "next_steps": ["check the gateway"]},
        "served_by": "anthropic-claude-sonnet-4.6",
        "latency_ms": 2100,
    }
    ticket = make_ticket(steps={"escalate_complex_issue": brief}, urgency_score=5, escalated=True)
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Dashboard outage for all users" in html and "check the gateway" in html
    assert "anthropic-claude-sonnet-4.6" in html


def test_urgency_step_shows_how_likely_the_ticket_needs_a_human(
    agent_client: Client, make_ticket: Any
) -> None:
    result = {
        "score": 4,
        "sentiment": "concerned",
        "escalation_risk": True,
        "reason": "Signals seen: outage.",
    }
    result |= {"confidence": 0.8, "escalation_probability": 0.834}
    ticket = make_ticket(steps={"urgency_detection": {"result": result, "served_by": "local/urgency-scorer"}})
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "needs a human: 83% likely" in html
    unstated = agent_client.get(f"/tickets/{make_ticket().pk}/").content.decode()
    assert "needs a human" not in unstated  # a model that states no probability shows none


def test_failover_shows_the_attempt_chain_with_reasons(agent_client: Client, make_ticket: Any) -> None:
    attempts = [
        {
            "model": "anthropic-claude-haiku-4.5",
            "outcome": "timeout",
            "latency_ms": 2000,
            "error": "read timed out",
        },
        {"model": "openai-gpt-5-nano", "outcome": "rate_limited", "latency_ms": 30, "error": "429 slow down"},
        {
            "model": "llama3.3-70b-instruct",
            "outcome": "invalid_output",
            "latency_ms": 800,
            "error": "no score",
        },
        {"model": "local/urgency-scorer", "outcome": "ok", "latency_ms": 3, "error": ""},
    ]
    step = {
        "result": {"score": 3, "sentiment": "calm", "escalation_risk": False, "reason": ""},
        "served_by": "local/urgency-scorer",
        "attempts": attempts,
        "degraded": True,
        "latency_ms": 2900,
    }
    ticket = make_ticket(
        steps={"urgency_detection": step},
        status="needs_attention",
        attention_reason="urgency_detection: configured models failed, answered by the local fallback",
    )
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Attempt chain (4)" in html
    assert "Timeout after 2000 ms" in html
    assert "Rate limited (429)" in html and "429 slow down" in html
    assert "Invalid output" in html
    assert "Needs attention:" in html and "answered by the local fallback" in html
    assert "Degraded:" in html


def test_no_attempt_chain_when_the_first_model_answered(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    assert b"Attempt chain" not in agent_client.get(f"/tickets/{ticket.pk}/").content


def test_failed_step_shows_its_error(agent_client: Client, make_ticket: Any) -> None:
    step = {"status": "failed", "error": "Every model failed: m1: timeout", "served_by": ""}
    ticket = make_ticket(steps={"classify_ticket": step}, status="failed", attention_reason="classify failed")
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Failed: Every model failed: m1: timeout" in html


def test_running_steps_say_working_and_the_live_region_polls(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket(status="triaging", steps={"classify_ticket": {"status": "running"}})
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "working..." in html
    assert f'hx-get="/tickets/{ticket.pk}/" hx-trigger="every 1s"' in html


def test_live_fragment_while_triaging_is_a_partial_that_keeps_polling(
    agent_client: Client, make_ticket: Any
) -> None:
    ticket = make_ticket(status="triaging")
    response = agent_client.get(f"/tickets/{ticket.pk}/", headers=LIVE)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="ticket-live"')
    assert "<html" not in html and "every 1s" in html


def test_live_fragment_stops_polling_once_settled(agent_client: Client, make_ticket: Any) -> None:
    ticket = make_ticket(status="triaged")
    response = agent_client.get(f"/tickets/{ticket.pk}/", headers=LIVE)
    assert response.status_code == 286
    assert b"openai-gpt-5-nano" in response.content
    assert b"hx-trigger" not in response.content


def test_total_cost_and_what_the_priciest_model_would_have_cost(
    agent_client: Client, make_ticket: Any
) -> None:
    ticket = make_ticket()
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    # 0.0000138 + 0.000325 + 0.00054 from the calls
    assert 'id="ticket-cost">$0.000879<' in html
    # opus at $5 / $25 per 1M: (620 * 5 + 97 * 25) / 1e6 = 0.005525
    assert "anthropic-claude-opus-4.7" in html and "$0.005525" in html


def test_missing_ticket_is_404(agent_client: Client, db: None) -> None:
    assert agent_client.get("/tickets/424242/").status_code == 404


def test_ticket_page_runs_fewer_than_ten_queries(
    agent_client: Client, make_ticket: Any, django_assert_max_num_queries: Any
) -> None:
    ticket = make_ticket()
    with django_assert_max_num_queries(9):
        assert agent_client.get(f"/tickets/{ticket.pk}/").status_code == 200


def test_priced_on_uses_call_cost(db: None) -> None:
    from triage.models import LLMModel
    from triage.web.selectors import priced_on

    model = LLMModel(slug="x", input_price_per_m=Decimal("2"), output_price_per_m=Decimal("10"))
    assert priced_on(model, [{"prompt_tokens": 1_000_000, "completion_tokens": 100_000}]) == Decimal("3")


def test_editors_open_only_once_triage_has_finished(agent_client: Client, make_ticket: Any) -> None:
    """The live region replaces itself every second while triaging: no half-typed text to lose."""
    running = make_ticket(status="triaging", steps={"draft_customer_reply": {"result": {"reply": "Hi."}}})
    html = agent_client.get(f"/tickets/{running.pk}/").content.decode()
    assert "The editor opens when triage finishes." in html
    assert 'name="text"' not in html and 'id="correct-category"' not in html
    settled = make_ticket()
    html = agent_client.get(f"/tickets/{settled.pk}/").content.decode()
    assert 'name="text"' in html and 'id="correct-category"' in html
