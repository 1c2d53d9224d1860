"""Health, readiness and metrics, as a load balancer, docker-compose and Prometheus see them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from triage.models import LLMModel, ModelCall, Router, Ticket
from triage.ops import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_every_part_ok(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "cache": "ok", "broker": "ok"}


def test_readyz_names_the_failing_part_with_a_503(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(health.CHECKS, "broker", lambda: "broker unreachable: OperationalError")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "broker unreachable: OperationalError"
    assert response.json()["checks"]["database"] == "ok"


def test_metrics_show_tickets_calls_cost_and_breakers(client: Client, presets: None) -> None:
    router = Router.objects.get(name="triage-router")
    Ticket.objects.create(router=router, subject="a", body="b", status="triaged")
    Ticket.objects.create(router=router, subject="c", body="d", status="needs_attention")
    nano = LLMModel.objects.get(slug="openai-gpt-5-nano")
    for outcome, latency in (("ok", 120), ("ok", 80), ("timeout", 2000)):
        ModelCall.objects.create(
            router=router, task_name="classify_ticket", model=nano, model_slug=nano.slug,
            started_at=timezone.now(), latency_ms=latency, outcome=outcome, cost="0.000031",
        )  # fmt: skip
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'triage_tickets{status="triaged"} 1.0' in text
    assert 'triage_tickets{status="needs_attention"} 1.0' in text
    assert (
        'triage_model_calls_last_hour{model="openai-gpt-5-nano",outcome="timeout",task="classify_ticket"} 1.0'
        in text
    )
    assert (
        'triage_model_call_latency_ms_avg_last_hour{model="openai-gpt-5-nano",task="classify_ticket"} 100.0'
        in text
    )
    assert 'triage_model_breaker_state{model="openai-gpt-5-nano",state="closed"} 1.0' in text
    assert "triage_queue_depth" in text


def test_metrics_are_internal_without_a_token(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403


@override_settings(METRICS_TOKEN="s3cret")
def test_metrics_need_the_token_when_one_is_set(client: Client, presets: Any) -> None:
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    ok = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret")
    assert ok.status_code == 200 and "triage_tickets" in ok.content.decode()


@pytest.mark.django_db(transaction=True)
def test_requests_reuse_the_database_connection() -> None:
    """On either backend (the embedded SQLite too) the end of a request keeps the connection for the
    next one (DB_CONN_MAX_AGE): reopening SQLite and its PRAGMAs cost ~3.5 ms per /v1 request. (The
    test client skips Django's end-of-request connection handling, so the signal is sent here.)"""
    from django.core.signals import request_finished
    from django.db import connection

    connection.ensure_connection()
    first = connection.connection
    request_finished.send(sender=None)  # what a server's WSGI handler does after each response
    connection.ensure_connection()
    assert connection.connection is first
