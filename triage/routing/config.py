"""The routing configuration as an immutable in-process snapshot, invalidated by a shared version.

Reading routers, tasks, pools and the catalog from the database on every request would cost a
query per decision; instead each process keeps one :class:`Snapshot` built from the database and
tags it with the *configuration version* held in the shared cache. Saving or deleting any routing
row bumps that version (``post_save`` / ``post_delete`` signals below), and the service compares
the version on every request inside the same ``get_many`` that reads breaker state, so an admin
edit takes effect on the next request in every process, at no extra cache round-trip.

Staleness bound: none beyond the request in flight. Writes that bypass signals
(``QuerySet.update``, ``bulk_create``, raw SQL) must call :func:`config_bump_version` themselves.

This module never calls a model and never writes routing rows.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from triage.models import Budget, FallbackEntry, LLMModel, PoolEntry, Provider, Router, RouterTask
from triage.routing.budgets import BudgetSpec, budget_spec

CONFIG_VERSION_KEY = "routing:config-version"


@dataclass(frozen=True)
class ModelSpec:
    """A catalog entry with what the router needs of its provider, frozen."""

    id: int
    slug: str
    provider_id: int
    provider_name: str
    kind: str  # the provider's kind: which adapter calls it (adapters/__init__.py)
    base_url: str
    api_key_env: str
    timeout_seconds: float
    input_price_per_m: Decimal
    output_price_per_m: Decimal
    supports_json_mode: bool
    context_window: int
    usable: bool  # the model and its provider are both enabled
    # the capability profile: the request shape the model accepts (adapters follow it)
    cached_input_price_per_m: Decimal | None = None  # None: the input price
    token_limit_parameter: str = "max_tokens"  # noqa: S105 (a parameter name, not a secret)
    accepts_temperature: bool = True
    reasoning_effort: str = ""
    reasoning_token_allowance: int = 0
    stream_usage: bool = True
    rejected_request_shapes: tuple[str, ...] = ()  # shapes the provider refused (until the model is edited)


@dataclass(frozen=True)
class PoolSpec:
    rank: int
    model: ModelSpec
    min_urgency: int | None = None
    max_urgency: int | None = None
    reasoning_effort: str = ""  # this task's override of the model's own effort

    def serves_urgency(self, urgency: int | None) -> bool:
        """Tiered pools: unknown urgency is served by every tier."""
        if urgency is None:
            return True
        return (self.min_urgency or 1) <= urgency <= (self.max_urgency or 5)


@dataclass(frozen=True)
class TaskSpec:
    id: int
    name: str
    description: str
    utterances: tuple[str, ...]
    system_prompt: str
    policy: str
    expected_input_tokens: int
    expected_output_tokens: int
    first_token_timeout_seconds: float
    pool: tuple[PoolSpec, ...]  # in rank order
    # the cascade: a doubtful answer from a pool model goes on to the next pool model
    cascade_enabled: bool = False
    cascade_threshold: float = 0.6
    cascade_on_local_disagreement: bool = True
    # shadow comparisons (services/shadow.py): a catalog model also answering a sample of done steps
    shadow_model_id: int | None = None
    shadow_sample_rate: float = 0.0

    def reasoning_effort_for(self, model: ModelSpec) -> str:
        """The effort to ask ``model`` for on this task: its pool entry's override, else its own."""
        entry = next((e for e in self.pool if e.model.id == model.id and e.reasoning_effort), None)
        return entry.reasoning_effort if entry else model.reasoning_effort


@dataclass(frozen=True)
class RouterSpec:
    id: int
    name: str
    enabled: bool
    confidence_threshold: float
    encoder: str
    affinity_ttl_seconds: int
    deadline_seconds: float
    tasks: dict[str, TaskSpec]
    fallbacks: tuple[ModelSpec, ...]
    # every model this router can name (pools + fallbacks), for one get_many of their health
    model_ids: tuple[int, ...]
    masking: str = "off"  # triage.routing.masking's modes
    budgets: tuple[BudgetSpec, ...] = ()


@dataclass
class Snapshot:
    version: str | None
    routers_by_name: dict[str, RouterSpec]
    routers_by_id: dict[int, RouterSpec]
    models_by_id: dict[int, ModelSpec]
    catalog: tuple[ModelSpec, ...]  # every usable model, for the last resort
    # per-process caches that live exactly as long as this configuration
    derived: dict[Any, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_current: Snapshot | None = None
_build_lock = threading.Lock()


def _model_spec(model: LLMModel) -> ModelSpec:
    provider = model.provider
    return ModelSpec(
        id=model.pk,
        slug=model.slug,
        provider_id=provider.pk,
        provider_name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        api_key_env=provider.api_key_env,
        timeout_seconds=float(provider.timeout_seconds),
        input_price_per_m=Decimal(model.input_price_per_m),
        output_price_per_m=Decimal(model.output_price_per_m),
        supports_json_mode=model.supports_json_mode,
        context_window=model.context_window,
        usable=model.enabled and provider.enabled,
        cached_input_price_per_m=(
            Decimal(model.cached_input_price_per_m) if model.cached_input_price_per_m is not None else None
        ),
        token_limit_parameter=model.token_limit_parameter,
        accepts_temperature=model.accepts_temperature,
        reasoning_effort=model.reasoning_effort,
        reasoning_token_allowance=model.reasoning_token_allowance,
        stream_usage=model.stream_usage,
        rejected_request_shapes=tuple(model.rejected_request_shape.split("\n"))
        if model.rejected_request_shape
        else (),
    )


def snapshot_build(version: str | None) -> Snapshot:
    """Read the whole routing configuration (a handful of queries) into a frozen snapshot."""
    models = {m.pk: _model_spec(m) for m in LLMModel.objects.select_related("provider")}
    pools: dict[int, list[PoolSpec]] = {}
    entries = PoolEntry.objects.order_by("task_id", "rank", "id").values_list(
        "task_id", "rank", "model_id", "min_urgency", "max_urgency", "reasoning_effort"
    )
    for task_id, rank, model_id, min_urgency, max_urgency, effort in entries:
        pools.setdefault(task_id, []).append(
            PoolSpec(rank, models[model_id], min_urgency, max_urgency, effort)
        )
    fallbacks: dict[int, list[ModelSpec]] = {}
    for router_id, model_id in FallbackEntry.objects.order_by("router_id", "order", "id").values_list(
        "router_id", "model_id"
    ):
        fallbacks.setdefault(router_id, []).append(models[model_id])
    tasks: dict[int, dict[str, TaskSpec]] = {}
    for task in RouterTask.objects.order_by("router_id", "id"):
        tasks.setdefault(task.router_id, {})[task.name] = TaskSpec(
            id=task.pk,
            name=task.name,
            description=task.description,
            utterances=tuple(task.utterances),
            system_prompt=task.system_prompt,
            policy=task.selection_policy,
            expected_input_tokens=task.expected_input_tokens,
            expected_output_tokens=task.expected_output_tokens,
            first_token_timeout_seconds=float(task.first_token_timeout_seconds),
            cascade_enabled=task.cascade_enabled,
            cascade_threshold=float(task.cascade_confidence_threshold),
            cascade_on_local_disagreement=task.cascade_on_local_disagreement,
            pool=tuple(pools.get(task.pk, [])),
            shadow_model_id=task.shadow_model_id,
            shadow_sample_rate=float(task.shadow_sample_rate),
        )
    budgets: dict[int, list[BudgetSpec]] = {}
    for budget in Budget.objects.select_related("router"):
        budgets.setdefault(budget.router_id, []).append(budget_spec(budget))
    routers: dict[int, RouterSpec] = {}
    for router in Router.objects.all():
        router_tasks = tasks.get(router.pk, {})
        router_fallbacks = tuple(fallbacks.get(router.pk, []))
        ids = {e.model.id for t in router_tasks.values() for e in t.pool} | {m.id for m in router_fallbacks}
        routers[router.pk] = RouterSpec(
            id=router.pk,
            name=router.name,
            enabled=router.enabled,
            confidence_threshold=float(router.classifier_confidence_threshold),
            encoder=router.classifier_encoder,
            affinity_ttl_seconds=router.affinity_ttl_seconds,
            deadline_seconds=float(router.request_deadline_seconds),
            tasks=router_tasks,
            fallbacks=router_fallbacks,
            model_ids=tuple(sorted(ids)),
            masking=router.masking,
            budgets=tuple(budgets.get(router.pk, [])),
        )
    return Snapshot(
        version=version,
        routers_by_name={r.name: r for r in routers.values()},
        routers_by_id=routers,
        models_by_id=models,
        catalog=tuple(m for m in models.values() if m.usable),
    )


def snapshot_current() -> Snapshot:
    """The snapshot this process holds (built on first use). No I/O once built."""
    snap = _current
    if snap is None:
        snap = snapshot_refresh(config_version_read())
    return snap


def snapshot_fresh() -> Snapshot:
    """The snapshot, rebuilt first when the shared version has moved (one cache read)."""
    snapshot = snapshot_current()
    version = config_version_read()
    return snapshot if version == snapshot.version else snapshot_refresh(version)


def snapshot_refresh(version: str | None) -> Snapshot:
    """Rebuild the snapshot for ``version`` unless another thread already did."""
    global _current
    with _build_lock:
        if _current is not None and version is not None and _current.version == version:
            return _current
        if version is None:
            version = config_version_read()
        _current = snapshot_build(version)
        return _current


def config_version_read() -> str:
    """The shared version, created when the cache has none (first start, or after a flush)."""
    version = cache.get(CONFIG_VERSION_KEY)
    if version is None:
        cache.add(CONFIG_VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(CONFIG_VERSION_KEY)
    return str(version)


def config_bump_version(**_: Any) -> None:
    """Make every process rebuild its snapshot on its next request: at once (this process, inside
    its transaction, sees its own edit) and again on commit (so a process that rebuilt in between
    from uncommitted data can't keep it)."""

    def bump() -> None:
        cache.set(CONFIG_VERSION_KEY, uuid.uuid4().hex, timeout=None)

    bump()
    transaction.on_commit(bump)


_ROUTING_MODELS = (Provider, LLMModel, Router, RouterTask, PoolEntry, FallbackEntry, Budget)


def connect_signals() -> None:
    for model in _ROUTING_MODELS:
        uid = f"routing-config-version-{model.__name__}"
        post_save.connect(config_bump_version, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(config_bump_version, sender=model, dispatch_uid=uid + "-delete")
