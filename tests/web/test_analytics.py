"""Analytics: per router and period, from real step and call rows; playground calls never count."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from triage.models import ModelCall, Router, Ticket
from triage.web.selectors import analytics_for

pytestmark = pytest.mark.django_db


def test_page_shows_totals_savings_and_chart_data(agent_client: Client, make_ticket: Any) -> None:
    make_ticket()
    make_ticket()
    html = agent_client.get("/analytics/?router=triage-router&period=7d").content.decode()
    assert 'id="a-tickets">2<' in html
    assert "Everything on openai-gpt-5-nano" in html
    assert "Router (actual)" in html
    assert "Everything on anthropic-claude-opus-4.7" in html
    assert 'id="cost-series" type="application/json"' in html
    assert 'id="mix-series" type="application/json"' in html
    assert "vendor/chart-4.6.1.umd.min.js" in html
    assert "anthropic-claude-haiku-4.5" in html  # model mix


def test_htmx_filter_gets_only_the_results(agent_client: Client, make_ticket: Any) -> None:
    make_ticket()
    response = agent_client.get(
        "/analytics/?period=24h", headers={"HX-Request": "true", "HX-Target": "analytics-results"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="analytics-results"') and "<html" not in html


def test_cost_figures_and_savings_from_real_tokens(make_ticket: Any) -> None:
    make_ticket()
    make_ticket()
    a = analytics_for(router=Router.objects.get(name="triage-router"), period="7d")
    assert a.tickets == 2
    assert a.cost_total == Decimal("0.0017576")  # 2 x (0.0000138 + 0.000325 + 0.00054)
    assert a.cost_per_ticket == Decimal("0.0008788")
    assert dict(a.cost_by_task)["urgency_detection"] == Decimal("0.00065")
    cheapest, actual, priciest = a.savings
    assert actual["cost"] == Decimal("0.0017576")
    # opus: 2 x (620 * 5 + 97 * 25) / 1e6
    assert priciest["cost"] == Decimal("0.01105")
    assert priciest["saved_pct"] == 0
    assert round(actual["saved_pct"], 1) == Decimal("84.1")
    assert actual["projected"] == Decimal("87.88")  # per ticket x 100,000
    # gpt-5-nano at $0.05 / $0.40: 2 x (620 * 0.05 + 97 * 0.40) / 1e6
    assert cheapest["cost"] == Decimal("0.0001396")


def test_latency_percentiles_fallback_and_failure_rates(make_ticket: Any) -> None:
    chain = [
        {"model": "a", "outcome": "timeout", "latency_ms": 100, "error": ""},
        {"model": "b", "outcome": "ok", "latency_ms": 50, "error": ""},
    ]
    make_ticket(steps={"classify_ticket": {"served_by": "b", "attempts": chain, "latency_ms": 150}})
    make_ticket()
    make_ticket(steps={"classify_ticket": {"status": "failed", "served_by": "", "latency_ms": None}})
    a = analytics_for(router=None, period="30d")
    classify = next(t for t in a.tasks if t.task == "classify_ticket")
    assert classify.steps == 3
    assert classify.fallback_rate == pytest.approx(1 / 3)
    assert classify.failure_rate == pytest.approx(1 / 3)
    assert (classify.p50_ms, classify.p95_ms) == (150, 412)
    assert {m for m, _, _ in classify.model_mix} == {"b", "openai-gpt-5-nano"}


def test_correction_rate_per_task_and_model(agent_client: Client, make_ticket: Any) -> None:
    first, _ = make_ticket(), make_ticket()
    agent_client.post(f"/tickets/{first.pk}/correct/", {"field": "category", "value": "billing"})
    a = analytics_for(router=None, period="7d")
    row = next(c for c in a.corrections if c["task"] == "classify_ticket")
    assert (row["model"], row["served"], row["corrected"], row["rate"]) == ("openai-gpt-5-nano", 2, 1, 0.5)
    html = agent_client.get("/analytics/").content.decode()
    assert "50%" in html
    # corrected again, then back to the model's answer: still one answer corrected, never over 100%
    for value in ("account", "bug"):
        agent_client.post(f"/tickets/{first.pk}/correct/", {"field": "category", "value": value})
    again = analytics_for(router=None, period="7d").corrections
    row = next(c for c in again if c["task"] == "classify_ticket")
    assert (row["corrected"], row["rate"]) == (1, 0.5)


def test_playground_and_api_calls_without_a_ticket_are_excluded(make_ticket: Any) -> None:
    make_ticket()
    router = Router.objects.get(name="triage-router")
    ModelCall.objects.create(
        router=router,
        task_name="classify_ticket",
        model_slug="anthropic-claude-opus-4.7",
        started_at=timezone.now(),
        outcome="ok",
        cost=Decimal("5"),
    )
    a = analytics_for(router=router, period="7d")
    assert a.cost_total == Decimal("0.0008788")
    assert "anthropic-claude-opus-4.7" not in [row[0] for row in a.cost_by_model]


def test_period_limits_the_tickets(make_ticket: Any) -> None:
    old = make_ticket()
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    make_ticket()
    assert analytics_for(router=None, period="24h").tickets == 1
    assert analytics_for(router=None, period="7d").tickets == 2


def test_empty_analytics_render(agent_client: Client, db: None) -> None:
    response = agent_client.get("/analytics/?period=bogus")
    assert response.status_code == 200
    assert b"No calls." in response.content


def test_missing_api_keys_are_not_counted_as_fallbacks(make_ticket: Any) -> None:
    unconfigured = [
        {"model": "openai-gpt-5-nano", "outcome": "skipped_unconfigured", "latency_ms": 0, "error": "no key"},
        {"model": "local/ticket-classifier", "outcome": "ok", "latency_ms": 2, "error": ""},
    ]
    make_ticket(steps={"classify_ticket": {"served_by": "local/ticket-classifier", "attempts": unconfigured}})
    classify = next(t for t in analytics_for(router=None, period="7d").tasks if t.task == "classify_ticket")
    assert classify.fallback_rate == 0


def test_share_of_failed_calls_per_model(make_ticket: Any) -> None:
    ticket = make_ticket()
    ModelCall.objects.create(
        router=ticket.router,
        ticket=ticket,
        task_name="classify_ticket",
        model_slug="openai-gpt-5-nano",
        started_at=timezone.now(),
        outcome="timeout",
    )
    rows = {row[0]: row for row in analytics_for(router=None, period="7d").cost_by_model}
    assert rows["openai-gpt-5-nano"][2:] == (2, 0.5)
    assert rows["anthropic-claude-haiku-4.5"][2:] == (2, 0.0)


def test_analytics_queries_do_not_grow_with_tickets(agent_client: Client, make_ticket: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_ticket()
    with CaptureQueriesContext(connection) as one:
        agent_client.get("/analytics/?period=30d")
    for _ in range(6):
        make_ticket()
    with CaptureQueriesContext(connection) as seven:
        agent_client.get("/analytics/?period=30d")
    assert len(seven) == len(one) < 40


def test_calls_interrupted_by_a_worker_crash_show_as_possibly_billed(
    agent_client: Client, make_ticket: Any
) -> None:
    ticket = make_ticket()
    before = analytics_for(router=None, period="7d").cost_total
    ModelCall.objects.create(
        router=ticket.router,
        ticket=ticket,
        task_name="draft_customer_reply",
        model_slug="anthropic-claude-sonnet-4.6",
        started_at=timezone.now(),
        outcome="interrupted",
        prompt_tokens=500,
        completion_tokens=400,
        tokens_estimated=True,
        cost=Decimal("0.0075"),
    )
    a = analytics_for(router=None, period="7d")
    assert a.possibly_billed == (1, Decimal("0.0075"))
    assert a.cost_total == before + Decimal("0.0075")  # counted, at the most it could have cost
    html = agent_client.get("/analytics/?period=7d").content.decode()
    assert 'id="a-possibly-billed">1 call, up to $0.007500<' in html


# --- cost vs quality (services.evaluation) -------------------------------------------------------
def test_cost_vs_quality_chart_data_and_table(agent_client: Client, db: None) -> None:
    import json
    import re

    from tests.services.evaluation_data import make_eval_router, make_labeled_tickets
    from triage.models import RouterTask

    router = make_eval_router()
    make_labeled_tickets(router, 20)
    RouterTask.objects.filter(router=router).update(
        calibration={"target": "strong:0.95", "threshold": 0.9, "local_disagreement": False}
    )
    html = agent_client.get("/analytics/?router=eval-router&period=7d").content.decode()
    assert "Cost vs quality" in html and 'data-chart="quality"' in html
    match = re.search(r'<script id="quality-series" type="application/json">(.*?)</script>', html, re.DOTALL)
    assert match is not None
    (chart,) = json.loads(match.group(1))["tasks"]
    assert chart["task"] == "classify_ticket"
    points = {p["label"]: p for p in chart["points"]}
    assert (
        points["cheap-model alone"]["accuracy"] == 0.7 and points["cheap-model alone"]["cost_per_1000"] == 0.1
    )
    assert points["strong-model alone"]["accuracy"] == 0.95
    assert points["cascade as configured (0.60)"]["accuracy"] == 0.9
    assert points["cascade as configured (0.60)"]["cost_per_1000"] == pytest.approx(0.4)
    assert points["recommended (0.90)"]["accuracy"] == 1.0
    assert points["recommended (0.90)"]["low"] == pytest.approx(0.8389, abs=1e-4)
    assert [p["label"] for p in chart["curve"]] == [
        f"threshold {t}" for t in ("0.50", "0.60", "0.70", "0.80", "0.90")
    ]
    # the table carries the same figures for readers without the chart
    assert 'id="quality-classify_ticket"' in html and "cascade as configured (0.60)" in html


def test_cost_vs_quality_needs_a_router_and_costs_no_queries_without_one(db: None) -> None:
    a = analytics_for(router=None, period="7d")
    assert a.quality == [] and a.quality_series == {}


def test_correction_rates_have_wilson_intervals(make_ticket: Any) -> None:
    from triage.models import Feedback

    ticket = make_ticket()
    Feedback.objects.create(
        ticket=ticket, task_name="classify_ticket", kind="correction", field="category",
        old_value="bug", new_value="billing", model_slug="openai-gpt-5-nano",
    )  # fmt: skip
    make_ticket()
    a = analytics_for(router=None, period="7d")
    row = next(c for c in a.corrections if c["task"] == "classify_ticket")
    assert (row["served"], row["corrected"]) == (2, 1)
    low, high = row["interval"]
    assert low == pytest.approx(0.0945, abs=1e-3) and high == pytest.approx(0.9055, abs=1e-3)


def test_cost_vs_quality_charts_replies_by_agents_verdicts(agent_client: Client, db: None) -> None:
    import json
    import re

    from tests.services.test_text_evaluation import CHEAP, make_judged_replies

    make_judged_replies()
    html = agent_client.get("/analytics/?router=reply-router&period=7d").content.decode()
    match = re.search(r'<script id="quality-series" type="application/json">(.*?)</script>', html, re.DOTALL)
    assert match is not None
    (chart,) = json.loads(match.group(1))["tasks"]
    assert chart["task"] == "draft_customer_reply" and chart["rule"].startswith("accepted by agents")
    points = {p["label"]: p for p in chart["points"]}
    assert points[f"{CHEAP} alone"]["accuracy"] == round(10 / 12, 4)
    assert points["cascade as configured (0.60)"]["accuracy"] == 0.8
    assert 'id="quality-draft_customer_reply"' in html
