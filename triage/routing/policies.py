"""Selection policies: order a task's pool into the candidate list (the rest is failover order).

Each policy is a small object in ``POLICIES`` (keyed by the name stored on ``RouterTask``) that says
which shared state it needs. A new policy is one class and one registry line; the router never
compares policy names.

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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from triage.routing.breaker import Health, failed_recently
from triage.routing.config import ModelSpec, PoolSpec, TaskSpec
from triage.routing.latency import LatencyRecord, latency_estimate
from triage.routing.pricing import call_cost

EXPLORE_RATE = 0.1


@dataclass(frozen=True)
class RoutingState:
    """The shared state a policy may read, already fetched with the request's one cache read."""

    latency: Mapping[int, LatencyRecord | None] = field(default_factory=dict)
    health: Mapping[int, Health | None] = field(default_factory=dict)
    now: float = 0.0
    streaming: bool = False
    explore: Callable[[], float] = random.random


class Policy(Protocol):
    label: str
    needs_latency: bool  # the router reads (and after each success writes) latency records for it

    def order(self, task: TaskSpec, pool: Sequence[PoolSpec], state: RoutingState) -> list[ModelSpec]: ...


def expected_cost(model: ModelSpec, task: TaskSpec) -> Decimal:
    return call_cost(
        input_price_per_m=model.input_price_per_m,
        output_price_per_m=model.output_price_per_m,
        prompt_tokens=task.expected_input_tokens,
        completion_tokens=task.expected_output_tokens,
    )


class LowestCost:
    label = "Lowest cost"
    needs_latency = False

    def order(self, task: TaskSpec, pool: Sequence[PoolSpec], state: RoutingState) -> list[ModelSpec]:
        ranked = sorted(
            enumerate(pool), key=lambda item: (expected_cost(item[1].model, task), item[1].rank, item[0])
        )
        return [entry.model for _, entry in ranked]


class LowestLatency:
    label = "Lowest latency"
    needs_latency = True

    def order(self, task: TaskSpec, pool: Sequence[PoolSpec], state: RoutingState) -> list[ModelSpec]:
        ranked = [entry.model for entry in pool]
        estimates = {
            m.id: latency_estimate(state.latency.get(m.id), streaming=state.streaming) for m in ranked
        }
        unmeasured = [m for m in ranked if estimates[m.id] is None]
        if not unmeasured:
            position = {m.id: i for i, m in enumerate(ranked)}
            ranked.sort(key=lambda m: (estimates[m.id], position[m.id]))
        elif len(unmeasured) < len(ranked) and state.explore() < EXPLORE_RATE:
            # a model behind a healthy first one would never be measured: now and then, measure it
            ranked.remove(unmeasured[0])
            ranked.insert(0, unmeasured[0])
        # stable: recent failures move to the back and keep their relative order
        return sorted(ranked, key=lambda m: failed_recently(state.health.get(m.id), state.now))


class ManualRanking:
    label = "Manual ranking"
    needs_latency = False

    def order(self, task: TaskSpec, pool: Sequence[PoolSpec], state: RoutingState) -> list[ModelSpec]:
        return [entry.model for entry in pool]


POLICIES: dict[str, Policy] = {
    "lowest_cost": LowestCost(),
    "lowest_latency": LowestLatency(),
    "manual_ranking": ManualRanking(),
}
DEFAULT_POLICY = "manual_ranking"


def policy_for(name: str) -> Policy:
    """The named policy; a name nobody registered (a policy removed since) ranks manually."""
    return POLICIES.get(name) or POLICIES[DEFAULT_POLICY]


def policy_choices() -> list[tuple[str, str]]:
    """The admin's choices for ``RouterTask.selection_policy``: every registered policy."""
    return [(name, policy.label) for name, policy in POLICIES.items()]


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
    state = RoutingState(latency=latency, health=health, now=now, streaming=streaming, explore=explore)
    return [model for model in policy_for(task.policy).order(task, pool, state) if model.usable]
