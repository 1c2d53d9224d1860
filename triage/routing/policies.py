"""Selection policies: order a task's pool into the candidate list (the rest is failover order).

- ``lowest_cost``: cheapest for the task's expected input/output tokens at catalog prices, ties by rank;
- ``lowest_latency``: lowest rolling latency estimate (time to first token for streams); the admin's
  rank order until every model in the pool has enough samples, with ``EXPLORE_RATE`` of requests
  sent first to a model still lacking them (else a model behind a healthy first one would never
  be measured); a model that failed recently goes last;
- ``manual_ranking``: the admin's rank order.

Tiered pools: entries with a min/max urgency only serve requests whose urgency falls in range
(requests with no urgency are served by every entry).

Pure functions over frozen config and the shared state already read; never any I/O.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from triage.models import SelectionPolicy
from triage.routing.breaker import Health, failed_recently
from triage.routing.config import ModelSpec, PoolSpec, TaskSpec
from triage.routing.latency import LatencyRecord, latency_estimate
from triage.routing.pricing import call_cost

EXPLORE_RATE = 0.1


def expected_cost(model: ModelSpec, task: TaskSpec) -> Decimal:
    return call_cost(
        input_price_per_m=model.input_price_per_m,
        output_price_per_m=model.output_price_per_m,
        prompt_tokens=task.expected_input_tokens,
        completion_tokens=task.expected_output_tokens,
    )


def order_lowest_cost(task: TaskSpec, pool: Sequence[PoolSpec]) -> list[ModelSpec]:
    ranked = sorted(
        enumerate(pool), key=lambda item: (expected_cost(item[1].model, task), item[1].rank, item[0])
    )
    return [entry.model for _, entry in ranked]


def order_manual(pool: Sequence[PoolSpec]) -> list[ModelSpec]:
    return [entry.model for entry in pool]


def order_lowest_latency(
    pool: Sequence[PoolSpec],
    *,
    latency: Mapping[int, LatencyRecord | None],
    health: Mapping[int, Health | None],
    now: float,
    streaming: bool,
    explore: Callable[[], float] = random.random,
) -> list[ModelSpec]:
    ranked = [entry.model for entry in pool]
    estimates = {m.id: latency_estimate(latency.get(m.id), streaming=streaming) for m in ranked}
    unmeasured = [m for m in ranked if estimates[m.id] is None]
    if not unmeasured:
        position = {m.id: i for i, m in enumerate(ranked)}
        ranked.sort(key=lambda m: (estimates[m.id], position[m.id]))
    elif len(unmeasured) < len(ranked) and explore() < EXPLORE_RATE:
        # a model behind a healthy first one would never be measured: now and then, measure it
        ranked.remove(unmeasured[0])
        ranked.insert(0, unmeasured[0])
    # stable: recent failures move to the back and keep their relative order
    return sorted(ranked, key=lambda m: failed_recently(health.get(m.id), now))


def select_candidates(
    task: TaskSpec,
    *,
    latency: Mapping[int, LatencyRecord | None],
    health: Mapping[int, Health | None],
    now: float,
    streaming: bool = False,
    urgency: int | None = None,
    explore: Callable[[], float] = random.random,
) -> list[ModelSpec]:
    """The task's usable pool models (of the tier serving ``urgency``) in the policy's order."""
    pool = [entry for entry in task.pool if entry.serves_urgency(urgency)]
    if task.policy == SelectionPolicy.LOWEST_COST:
        ordered = order_lowest_cost(task, pool)
    elif task.policy == SelectionPolicy.LOWEST_LATENCY:
        ordered = order_lowest_latency(
            pool, latency=latency, health=health, now=now, streaming=streaming, explore=explore
        )
    else:
        ordered = order_manual(pool)
    return [model for model in ordered if model.usable]
