"""Selection policies: order a task's pool into the candidate list (the rest is failover order).

- ``lowest_cost``: cheapest for the task's expected input/output tokens at catalog prices, ties by rank;
- ``lowest_latency``: lowest rolling latency estimate (time to first token for streams); the admin's
  rank order until every model in the pool has enough samples; a model that failed recently goes last;
- ``manual_ranking``: the admin's rank order.

Pure functions over frozen config and the shared state already read; never any I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from triage.models import SelectionPolicy
from triage.routing.breaker import Health, failed_recently
from triage.routing.config import ModelSpec, TaskSpec
from triage.routing.latency import LatencyRecord, latency_estimate
from triage.routing.pricing import call_cost


def expected_cost(model: ModelSpec, task: TaskSpec) -> Decimal:
    return call_cost(
        input_price_per_m=model.input_price_per_m,
        output_price_per_m=model.output_price_per_m,
        prompt_tokens=task.expected_input_tokens,
        completion_tokens=task.expected_output_tokens,
    )


def order_lowest_cost(task: TaskSpec) -> list[ModelSpec]:
    ranked = sorted(enumerate(task.pool), key=lambda item: (expected_cost(item[1][1], task), item[1][0], item[0]))
    return [model for _, (_, model) in ranked]


def order_manual(task: TaskSpec) -> list[ModelSpec]:
    return [model for _, model in task.pool]


def order_lowest_latency(
    task: TaskSpec,
    *,
    latency: Mapping[int, LatencyRecord | None],
    health: Mapping[int, Health | None],
    now: float,
    streaming: bool,
) -> list[ModelSpec]:
    ranked = [model for _, model in task.pool]
    estimates = {m.id: latency_estimate(latency.get(m.id), streaming=streaming) for m in ranked}
    if all(value is not None for value in estimates.values()):
        position = {m.id: i for i, m in enumerate(ranked)}
        ranked.sort(key=lambda m: (estimates[m.id], position[m.id]))
    # stable: recent failures move to the back and keep their relative order
    return sorted(ranked, key=lambda m: failed_recently(health.get(m.id), now))


def select_candidates(
    task: TaskSpec,
    *,
    latency: Mapping[int, LatencyRecord | None],
    health: Mapping[int, Health | None],
    now: float,
    streaming: bool = False,
) -> list[ModelSpec]:
    """The task's usable pool models in the order its policy wants them tried."""
    if task.policy == SelectionPolicy.LOWEST_COST:
        ordered = order_lowest_cost(task)
    elif task.policy == SelectionPolicy.LOWEST_LATENCY:
        ordered = order_lowest_latency(task, latency=latency, health=health, now=now, streaming=streaming)
    else:
        ordered = order_manual(task)
    return [model for model in ordered if model.usable]
