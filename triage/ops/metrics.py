"""Prometheus metrics, computed at scrape time from the database and the shared cache.

Reading the audit trail (not in-process counters) keeps the figures right with any number of web
and worker processes. Model call figures cover the last hour, so a scrape stays cheap.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from triage.models import Connector, Delivery, LLMModel, ModelCall, Ticket, WebhookEndpoint

WINDOW = timedelta(hours=1)
BREAKER_STATES = ("closed", "half_open", "open")


def metrics_text() -> bytes:
    registry = CollectorRegistry()
    _tickets(registry)
    _model_calls(registry)
    _breakers(registry)
    _queue(registry)
    _deliveries(registry)
    _budgets(registry)
    return generate_latest(registry)


def _tickets(registry: CollectorRegistry) -> None:
    gauge = Gauge("triage_tickets", "Tickets by status", ["status"], registry=registry)
    counts = dict(Ticket.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in Ticket.Status.values:
        gauge.labels(status=status).set(counts.get(status, 0))


def _model_calls(registry: CollectorRegistry) -> None:
    calls = Gauge(
        "triage_model_calls_last_hour", "Model call attempts in the last hour", ["task", "model", "outcome"],
        registry=registry,
    )  # fmt: skip
    latency = Gauge(
        "triage_model_call_latency_ms_avg_last_hour", "Mean latency of successful calls", ["task", "model"],
        registry=registry,
    )  # fmt: skip
    cost = Gauge(
        "triage_model_cost_dollars_last_hour", "Cost of model calls in the last hour", ["task", "model"],
        registry=registry,
    )  # fmt: skip
    since = timezone.now() - WINDOW
    rows = (
        ModelCall.objects.filter(started_at__gte=since)
        .values("task_name", "model_slug", "outcome")
        .annotate(n=Count("id"), latency=Sum("latency_ms"), dollars=Sum("cost"))
    )
    totals: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        task, model = row["task_name"] or "none", row["model_slug"]
        calls.labels(task=task, model=model, outcome=row["outcome"]).set(row["n"])
        entry = totals.setdefault((task, model), [0.0, 0.0, 0.0])
        entry[2] += float(row["dollars"] or 0)
        if row["outcome"] == "ok":
            entry[0] += float(row["latency"] or 0)
            entry[1] += row["n"]
    for (task, model), (latency_sum, ok_count, dollars) in totals.items():
        cost.labels(task=task, model=model).set(dollars)
        if ok_count:
            latency.labels(task=task, model=model).set(latency_sum / ok_count)


def _breakers(registry: CollectorRegistry) -> None:
    from django.core.cache import cache

    from triage.routing import breaker

    gauge = Gauge(
        "triage_model_breaker_state", "Circuit breaker state per model (1 for the current state)",
        ["model", "state"], registry=registry,
    )  # fmt: skip
    refusing = Gauge(
        "triage_model_request_refused",
        "1 when the provider refused this model's request shape (fix its profile in the admin)",
        ["model"], registry=registry,
    )  # fmt: skip
    for slug, rejected_at in LLMModel.objects.filter(enabled=True).values_list("slug", "rejected_at"):
        refusing.labels(model=slug).set(1 if rejected_at else 0)
    models = list(LLMModel.objects.filter(enabled=True).values_list("id", "slug"))
    health = cache.get_many([breaker.health_key(model_id) for model_id, _ in models])
    now = time.time()
    for model_id, slug in models:
        state = breaker.breaker_state(health.get(breaker.health_key(model_id)), now)
        for candidate in BREAKER_STATES:
            gauge.labels(model=slug, state=candidate).set(1 if state == candidate else 0)


def _queue(registry: CollectorRegistry) -> None:
    from triage_site.celery import app

    gauge = Gauge("triage_queue_depth", "Messages waiting in the Celery queue", registry=registry)
    try:
        with app.connection_for_read() as connection:
            depth = connection.default_channel.queue_declare(queue="celery", passive=True).message_count
    except Exception:  # noqa: BLE001 - no queue yet, or the broker is down: readyz reports that
        depth = 0
    gauge.set(depth)


def _deliveries(registry: CollectorRegistry) -> None:
    """Webhook and write-back deliveries by status, and each target's state (1 = auto-disabled)."""
    by_status = Gauge("triage_deliveries", "Outbound deliveries by status", ["status"], registry=registry)
    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in Delivery.Status.values:
        by_status.labels(status=status).set(counts.get(status, 0))
    disabled = Gauge(
        "triage_delivery_target_disabled",
        "1 when a webhook endpoint or a helpdesk write-back was disabled after failing too often",
        ["kind", "name"],
        registry=registry,
    )
    failing = Gauge(
        "triage_delivery_target_consecutive_failures",
        "Failed delivery attempts in a row, per webhook endpoint or helpdesk write-back",
        ["kind", "name"],
        registry=registry,
    )
    for endpoint in WebhookEndpoint.objects.all():
        disabled.labels(kind="webhook", name=endpoint.name).set(int(endpoint.disabled_at is not None))
        failing.labels(kind="webhook", name=endpoint.name).set(endpoint.consecutive_failures)
    for connector in Connector.objects.filter(kind__in=Connector.HELPDESK_KINDS):
        disabled.labels(kind=connector.kind, name=connector.name).set(int(connector.disabled_at is not None))
        failing.labels(kind=connector.kind, name=connector.name).set(connector.consecutive_failures)


def _budgets(registry: CollectorRegistry) -> None:
    """Each budget's spend and cap in its current period, and 1 while the cap is reached."""
    from triage.models import Budget
    from triage.routing.budgets import budget_status

    labels = ["router", "task", "period"]
    spent = Gauge(
        "triage_budget_spent_dollars",
        "Spend this period, calls in flight included",
        labels,
        registry=registry,
    )
    cap = Gauge("triage_budget_cap_dollars", "The cap of the period", labels, registry=registry)
    reached = Gauge(
        "triage_budget_exceeded", "1 while remote calls are skipped for this cap", labels, registry=registry
    )
    for budget in Budget.objects.select_related("router"):
        for row in budget_status(budget):
            values = {"router": budget.router.name, "task": budget.task_name or "*", "period": row["kind"]}
            spent.labels(**values).set(float(row["spent"]))
            cap.labels(**values).set(float(row["cap"]))
            reached.labels(**values).set(int(budget.exceeded_for == row["period"]))
