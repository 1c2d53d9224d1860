"""Usage figures per router, from the ModelCall audit trail and the tickets' steps."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from triage.models import ModelCall, Router, TriageStep
from triage.routing.pricing import dollars


def _percentile(values: list[int], pct: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def router_stats(*, router: Router, since: datetime) -> dict[str, Any]:
    """Requests, cost, latency per task, model and task mix, fallback and failure rates since ``since``.

    *requests* are served calls plus triage steps that no model could serve; an *attempt* is one
    ModelCall row, and the failure rate is the share of attempts that didn't succeed. The fallback
    rate is the share of served triage steps that needed more than one attempt.
    """
    calls = ModelCall.objects.filter(router=router, started_at__gte=since)
    attempts = calls.count()
    served = calls.filter(outcome="ok")
    served_count = served.count()
    totals = calls.aggregate(cost=Sum("cost"), tickets=Count("ticket", distinct=True))
    cost = totals["cost"] or Decimal(0)
    tickets = totals["tickets"] or 0
    ticket_cost = calls.filter(ticket__isnull=False).aggregate(cost=Sum("cost"))["cost"] or Decimal(0)

    latencies: dict[str, list[int]] = defaultdict(list)
    for task_name, latency in served.values_list("task_name", "latency_ms").iterator():
        latencies[task_name or "(none)"].append(latency)
    model_mix = Counter(
        dict(served.values_list("model_slug").annotate(n=Count("id")).values_list("model_slug", "n"))
    )
    task_mix = Counter(
        dict(served.values_list("task_name").annotate(n=Count("id")).values_list("task_name", "n"))
    )

    finished = TriageStep.objects.filter(ticket__router=router, finished_at__gte=since)
    failed_steps = finished.filter(status="failed").count()
    steps = finished.filter(status="done")
    step_attempts = [len(a or []) for a in steps.values_list("attempts", flat=True).iterator()]
    fallbacks = sum(1 for n in step_attempts if n > 1)
    per_ticket = (ticket_cost / tickets).quantize(Decimal("0.0000001")) if tickets else Decimal(0)
    return {
        "router": router.name,
        "since": since,
        "requests": served_count + failed_steps,
        "served": served_count,
        "attempts": attempts,
        "tickets": tickets,
        "cost_total": dollars(cost),
        "cost_per_ticket": dollars(per_ticket),
        "latency_ms": {
            task: {
                "p50": int(statistics.median(values)),
                "p95": _percentile(values, 95),
                "count": len(values),
            }
            for task, values in sorted(latencies.items())
        },
        "model_mix": dict(model_mix.most_common()),
        "task_mix": dict(task_mix.most_common()),
        "failure_rate": round((attempts - served_count) / attempts, 4) if attempts else 0.0,
        "fallback_rate": round(fallbacks / len(step_attempts), 4) if step_attempts else 0.0,
    }
