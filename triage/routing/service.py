"""The routing service: the one public entry for asking "a model" anything.

``route()`` (and ``route_stream()``) take a router, chat messages and optionally a task name;
they pick the task (named, pinned, or classified), order the candidates by the task's policy,
call each through its provider's adapter (``adapters/``), fail over on timeouts, connection errors,
429, 5xx/overloaded and rejected output, and record every attempt as a ``ModelCall`` row written
before its request leaves (``audit.py``). Callers name tasks, never models.

Per request: one ``get_many`` of the shared state (configuration version, the breaker records of
the router's models, the latency records its policies need, an affinity pin), then per attempt
the row's insert, the call and the row's update; shared-cache writes only when a breaker, latency
or pin record changes. The routing configuration itself is a per-process snapshot (``config.py``).

This module must never retry inside a provider call (adapters run with no retries), never skip an
always-available (local) model for a cooldown, and never log or store an API key.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from openai.types.chat import ChatCompletionChunk

from triage.models import CallOutcome, LLMModel, ModelCall, Router
from triage.routing import affinity, breaker, latency
from triage.routing.adapters import CallFailure, ProviderAdapter, Request, Usage, adapter_for
from triage.routing.adapters.base import reported_usage
from triage.routing.audit import CallOrigin, call_close, call_open, call_skipped, model_cost, worst_case_cost
from triage.routing.budgets import BudgetRefused, Reservation, budget_reserve, budget_settle
from triage.routing.classifier import Classification, EncoderUnavailable, TaskClassifier, classifier_build
from triage.routing.config import (
    CONFIG_VERSION_KEY,
    ModelSpec,
    RouterSpec,
    Snapshot,
    TaskSpec,
    config_bump_version,
    config_version_read,
    snapshot_current,
    snapshot_refresh,
)
from triage.routing.masking import RequestMasking, StreamRestorer
from triage.routing.policies import policy_for, select_candidates
from triage.routing.profile import context_overflow, token_budget
from triage.routing.tokens import count_prompt_tokens, count_text_tokens

logger = logging.getLogger(__name__)

Messages = Sequence[Mapping[str, str]]
Validator = Callable[[str], Any]


# --- public types ------------------------------------------------------------------------------
class InvalidOutput(ValueError):
    """Raised by a caller's validator to reject a model's output (the router then fails over)."""


@dataclass(frozen=True)
class Attempt:
    model: str
    outcome: str
    latency_ms: int
    error: str = ""
    call_id: int | None = None  # its ModelCall row
    masked: int = 0  # customer data items replaced by placeholders in what this attempt sent


@dataclass(frozen=True)
class RouteResult:
    content: str  # the raw text the serving model returned
    parsed: Any  # what the validator returned (the content when there is none)
    served_by: str  # model slug
    matched_task: str | None
    pinned: bool  # served by the model the affinity key was pinned to
    attempts: list[Attempt]  # every attempt in order; the last one is the "ok"
    prompt_tokens: int
    completion_tokens: int  # reasoning tokens included
    tokens_estimated: bool
    cost: Decimal  # of the serving call, at the serving model's catalog prices
    latency_ms: int  # the whole request, all attempts included
    classification_score: float | None = None  # when the task was classified
    last_resort: bool = False  # served by an always-available (local) model
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    finish_reason: str = "stop"
    # the cascade: every answer it got ({model, result, confidence, doubt, kept}), and why it escalated
    answers: list[dict[str, Any]] = field(default_factory=list)
    escalation_reason: str = ""


# Called with the result inside the transaction that completes the serving attempt's row, so what
# it writes (a pipeline step's result) and the cost row commit together or not at all.
OnServed = Callable[[RouteResult], None]


class RoutingError(Exception):
    """Every candidate failed. ``attempts`` lists each one; ``str()`` names each model and outcome."""

    def __init__(self, message: str, attempts: Sequence[Attempt] = ()) -> None:
        self.attempts = list(attempts)
        if self.attempts:
            chain = "; ".join(
                f"{a.model}: {a.outcome}" + (f" ({a.error})" if a.error else "") for a in self.attempts
            )
            message = f"{message}: {chain}"
        super().__init__(message)


class UnknownRouter(RoutingError, LookupError):
    pass


class UnknownTask(RoutingError, ValueError):
    pass


@dataclass(frozen=True)
class StreamEvent:
    """``chunk`` (a provider chunk, forwarded as it came), then ``done`` or ``error``."""

    kind: str  # "chunk" | "done" | "error"
    delta: str = ""
    chunk: ChatCompletionChunk | None = None
    result: RouteResult | None = None  # on "done": served_by, usage, cost, attempts
    error: str = ""  # on "error": why the stream ended early
    attempts: tuple[Attempt, ...] = ()
    matched_task: str | None = None  # on "chunk": the task the request was routed as


# --- planning: which task, which models, in which order ------------------------------------------
@dataclass
class Plan:
    router: RouterSpec
    task: TaskSpec | None
    task_name: str | None
    candidates: list[ModelSpec]
    pinned_model_id: int | None
    pin_key: str | None
    health: dict[int, breaker.Health | None]
    latency: dict[int, latency.LatencyRecord | None]
    started: float
    deadline: float
    classification: Classification | None = None
    probe: bool = False  # check_models: exactly one model, sent even if refused before or cooling down


MODEL_PREFIX = "model:"


def direct_model_spec(snapshot: Snapshot, slug: str) -> RouterSpec:
    """A one-model 'router' for direct calls to a catalog model (``model:<slug>``): the model,
    then the local last resort, with the same breaker, deadline and accounting as any route."""
    model = next((m for m in snapshot.catalog if m.slug == slug), None)
    if model is None:
        raise UnknownRouter(f"No enabled model named {slug!r}")
    return RouterSpec(
        id=-model.id,  # never a database id: ModelCall rows of direct calls name no router
        name=slug,
        enabled=True,
        confidence_threshold=1.0,
        encoder="tfidf",
        affinity_ttl_seconds=3600,
        deadline_seconds=60.0,
        tasks={},
        fallbacks=(model,),
        model_ids=(model.id,),
    )


def resolve_router(snapshot: Snapshot, router: Router | str | int) -> RouterSpec:
    if isinstance(router, str) and router.startswith(MODEL_PREFIX):
        return direct_model_spec(snapshot, router.removeprefix(MODEL_PREFIX))
    if isinstance(router, Router):
        spec = snapshot.routers_by_id.get(router.pk)
        label = router.name
    elif isinstance(router, int):
        spec = snapshot.routers_by_id.get(router)
        label = str(router)
    else:
        label = router.removeprefix("router:")
        spec = snapshot.routers_by_name.get(label)
    if spec is None:
        raise UnknownRouter(f"No router named {label!r}")
    if not spec.enabled:
        raise UnknownRouter(f"Router {spec.name!r} is disabled")
    return spec


def classifier_for(snapshot: Snapshot, router: RouterSpec) -> TaskClassifier:
    """The router's classifier, built once per configuration version in this process."""
    cache_key = ("classifier", router.id)
    found = snapshot.derived.get(cache_key)
    if found is None:
        with snapshot.lock:
            found = snapshot.derived.get(cache_key)
            if found is None:
                tasks = list(router.tasks.values())
                try:
                    found = classifier_build(
                        tasks, threshold=router.confidence_threshold, encoder=router.encoder
                    )
                except EncoderUnavailable as error:
                    logger.warning("Router %s: %s; using the tfidf encoder", router.name, error)
                    found = classifier_build(tasks, threshold=router.confidence_threshold, encoder="tfidf")
                snapshot.derived[cache_key] = found
    return found


def _adapter(model: ModelSpec) -> ProviderAdapter | None:
    try:
        return adapter_for(model.kind)
    except KeyError:
        return None


def _in_process(model: ModelSpec) -> bool:
    adapter = _adapter(model)
    return adapter is not None and adapter.always_available


def _always_available(model: ModelSpec, task_name: str | None) -> bool:
    """An always-available (last resort) model that serves ``task_name``."""
    adapter = _adapter(model)
    return adapter is not None and adapter.always_available and adapter.serves(model, task_name)


def last_resort(snapshot: Snapshot, router: RouterSpec, task_name: str | None) -> list[ModelSpec]:
    """Always-available models in the router's fallbacks that serve the task, else any that does."""
    from_fallbacks = [m for m in router.fallbacks if m.usable and _always_available(m, task_name)]
    if from_fallbacks:
        return from_fallbacks
    serving = [m for m in snapshot.catalog if _always_available(m, task_name)]
    # a model made for this task before one that answers anything
    return sorted(serving, key=lambda m: _always_available(m, None))


def build_chain(
    snapshot: Snapshot,
    router: RouterSpec,
    ordered_pool: Sequence[ModelSpec],
    task_name: str | None,
    pinned: ModelSpec | None,
) -> list[ModelSpec]:
    """Pinned model, the policy's order, the router's other fallbacks, then the last resort."""
    chain: list[ModelSpec] = [pinned] if pinned else []
    chain += ordered_pool
    chain += [m for m in router.fallbacks if m.usable and not _in_process(m)]
    chain += last_resort(snapshot, router, task_name)
    seen: set[int] = set()
    unique = []
    for model in chain:
        if model.id not in seen:
            seen.add(model.id)
            unique.append(model)
    return unique


@dataclass
class SharedState:
    """What one ``get_many`` returned, with the snapshot it was checked against."""

    snapshot: Snapshot
    router: RouterSpec
    values: dict[str, Any]
    pin_key: str | None


# --- breaker records: shared, with this process's memory as the fallback -----------------------------
# Each process keeps the newest breaker record it read or wrote per model. The shared record wins
# unless this process knows a newer one (written while Redis was away) or the cache has none (Redis
# away, or back empty after a restart without persistence): then the remembered record is used and,
# when it is open, written back, so other processes, the admin and /metrics see it again. Without
# this, a Redis blip in the middle of an outage sent every call to the down model (bench/soak.py:
# 71 calls in the 2 s Redis was away) and the breaker had to learn the outage again.
_HEALTH_KNOWN: dict[int, breaker.Health] = {}
# Half-open trials while the cache can't arbitrate them (Redis away): model id -> held until.
_TRIALS_LOCAL: dict[int, float] = {}
_TRIALS_LOCK = threading.Lock()


def health_known(model_id: int, shared: breaker.Health | None) -> breaker.Health | None:
    """The newer of the shared record and this process's (remembered for next time); a
    remembered one older than the shared record would live (``HEALTH_TTL``) is forgotten."""
    known = _HEALTH_KNOWN.get(model_id)
    if known is not None and time.time() - breaker.health_updated_at(known) >= breaker.HEALTH_TTL:
        _HEALTH_KNOWN.pop(model_id, None)
        known = None
    if shared is not None and (
        known is None or breaker.health_updated_at(shared) >= breaker.health_updated_at(known)
    ):
        _HEALTH_KNOWN[model_id] = shared
        return shared
    if known is not None and known.get("state") == breaker.OPEN:
        key = breaker.health_key(model_id)
        if shared is None:  # Redis back empty (or still away: then this write is dropped)
            cache.add(key, known, timeout=breaker.HEALTH_TTL)
        else:
            cache.set(key, known, timeout=breaker.HEALTH_TTL)
    return known


def health_read(model_id: int) -> breaker.Health | None:
    """The model's breaker as it is now (one cache read), this process's record when newer."""
    return health_known(model_id, cache.get(breaker.health_key(model_id)))


def health_write(model_id: int, record: breaker.Health) -> None:
    _HEALTH_KNOWN[model_id] = record
    cache.set(breaker.health_key(model_id), record, timeout=breaker.HEALTH_TTL)


def health_reset(model_id: int) -> None:
    """Forget a model's breaker everywhere: the shared record and this process's."""
    _HEALTH_KNOWN.pop(model_id, None)
    cache.delete(breaker.health_key(model_id))


def health_forget_all() -> None:
    """Forget what this process knew (tests, whose models reuse ids once the cache is cleared)."""
    _HEALTH_KNOWN.clear()
    _TRIALS_LOCAL.clear()


def trial_take(model_id: int, timeout: int) -> bool:
    """The half-open trial for one caller. The cache arbitrates between processes; while it is away
    (django-redis answers None instead of True/False), this process arbitrates between its threads."""
    taken = cache.add(breaker.trial_key(model_id), 1, timeout=timeout)
    if taken is not None:
        return bool(taken)
    now = time.time()
    with _TRIALS_LOCK:
        if _TRIALS_LOCAL.get(model_id, 0.0) > now:
            return False
        _TRIALS_LOCAL[model_id] = now + timeout
        return True


def trial_release(model_id: int) -> None:
    _TRIALS_LOCAL.pop(model_id, None)
    cache.delete(breaker.trial_key(model_id))


def _state_keys(router: RouterSpec, pin_key: str | None) -> list[str]:
    """The configuration version, every breaker of the router, the latency records its policies use."""
    keys = [CONFIG_VERSION_KEY, *(breaker.health_key(model_id) for model_id in router.model_ids)]
    for task in router.tasks.values():
        if policy_for(task.policy).needs_latency:
            keys += [latency.latency_key(task.id, entry.model.id) for entry in task.pool]
    if pin_key:
        keys.append(pin_key)
    return keys


def read_shared_state(
    router_ref: Router | str | int, *, task: str | None, affinity_key: str | None
) -> SharedState:
    """Config version, breaker and latency state, and the affinity pin: one cache round trip.

    When the version differs from this process's snapshot, the snapshot is rebuilt and the read
    repeated (at most twice): an admin edit applies to the next request in every process.
    """
    for attempt in range(3):
        snapshot = snapshot_current()
        try:
            router = resolve_router(snapshot, router_ref)
        except UnknownRouter:
            # maybe created (or enabled) since this process built its snapshot
            version = config_version_read()
            if version == snapshot.version or attempt == 2:
                raise
            snapshot_refresh(version)
            continue
        pin_key = affinity.request_pin_key(router.id, affinity_key, task) if affinity_key else None
        values = cache.get_many(_state_keys(router, pin_key))
        version = values.get(CONFIG_VERSION_KEY) or config_version_read()
        if version == snapshot.version:
            break
        snapshot_refresh(str(version))
    return SharedState(snapshot, router, values, pin_key)


def resolve_task(
    shared: SharedState, messages: Messages, *, task: str | None, pin: Any, pinned: ModelSpec | None
) -> tuple[TaskSpec | None, str | None, Classification | None]:
    """The named task, else the pinned request's task, else the classifier's pick (or none)."""
    router = shared.router
    if task is not None:
        task_spec = router.tasks.get(task)
        if task_spec is None:
            known = ", ".join(sorted(router.tasks)) or "none"
            raise UnknownTask(f"Router {router.name!r} has no task {task!r} (its tasks: {known})")
        return task_spec, task, None
    if pinned is not None:
        pinned_task = pin.get("task") if isinstance(pin, dict) else None
        return (router.tasks.get(pinned_task) if pinned_task else None), pinned_task, None
    if not router.tasks:
        return None, None, None  # a direct model call: nothing to classify against
    classification = classifier_for(shared.snapshot, router).classify(messages)
    matched = classification.task
    return (router.tasks.get(matched) if matched else None), matched, classification


def plan_request(
    router_ref: Router | str | int,
    messages: Messages,
    *,
    task: str | None,
    affinity_key: str | None,
    streaming: bool,
    urgency: int | None = None,
    only_model: int | None = None,
) -> Plan:
    """Decide the task and the ordered candidates with one shared-cache read (``only_model``: a
    probe of that one catalog model, no failover)."""
    started = time.perf_counter()
    shared = read_shared_state(router_ref, task=task, affinity_key=affinity_key)
    router, values = shared.router, shared.values
    health = {
        model_id: health_known(model_id, values.get(breaker.health_key(model_id)))
        for model_id in router.model_ids
    }
    pin = values.get(shared.pin_key) if shared.pin_key else None
    pinned_model = _pinned_model(shared.snapshot, pin, task)
    task_spec, task_name, classification = resolve_task(
        shared, messages, task=task, pin=pin, pinned=pinned_model
    )
    latency_state: dict[int, latency.LatencyRecord | None] = {}
    ordered: list[ModelSpec] = []
    if task_spec is not None:
        latency_state = {
            entry.model.id: values.get(latency.latency_key(task_spec.id, entry.model.id))
            for entry in task_spec.pool
        }
        ordered = select_candidates(
            task_spec,
            latency=latency_state,
            health=health,
            now=time.time(),
            streaming=streaming,
            urgency=urgency,
        )
    candidates = build_chain(shared.snapshot, router, ordered, task_name, pinned_model)
    if only_model is not None:
        candidates = [m for m in [shared.snapshot.models_by_id.get(only_model)] if m is not None]
    return Plan(
        router=router,
        task=task_spec,
        task_name=task_name,
        candidates=candidates,
        pinned_model_id=pinned_model.id if pinned_model else None,
        pin_key=shared.pin_key,
        health=health,
        latency=latency_state,
        started=started,
        deadline=started + router.deadline_seconds,
        classification=classification,
        probe=only_model is not None,
    )


def _pinned_model(snapshot: Snapshot, pin: Any, task: str | None) -> ModelSpec | None:
    model_id = affinity.pin_model_id(pin)
    model = snapshot.models_by_id.get(model_id) if model_id is not None else None
    if model is None or not model.usable:
        return None
    adapter = _adapter(model)
    if adapter is None or not adapter.serves(model, task if task is not None else pin.get("task")):
        return None
    return model


# --- one request's attempts: their rows, and the shared state they change -------------------------
@dataclass
class Served:
    model: ModelSpec
    content: str
    parsed: Any
    usage: Usage
    cost: Decimal
    latency_ms: int
    first_token_ms: float | None = None
    finish_reason: str = "stop"


@dataclass
class Progress:
    """What one attempt has done so far: for its row when it fails, and its answer when it succeeds."""

    served: Served | None = None
    forwarded: bool = False  # a stream's content has reached the caller: no failover past this
    parts: list[str] = field(default_factory=list)  # the content forwarded so far
    usage: Usage | None = None  # once known


class AttemptLog:
    """The request's attempts: writes each one's row and the breaker, latency and pin state."""

    def __init__(
        self, plan: Plan, request: Request, *, ticket_id: int | None, step_id: int | None, streaming: bool
    ) -> None:
        self.plan = plan
        self.request = request
        self.ticket_id = ticket_id
        self.step_id = step_id
        self.streaming = streaming
        self.attempts: list[Attempt] = []
        self.trials: set[int] = set()
        self._prompt_tokens: int | None = None
        router_id = plan.router.id if plan.router.id > 0 else None  # direct model calls name no router
        self.origin = CallOrigin(router_id, plan.task_name or "", ticket_id, step_id)
        self.masking = RequestMasking(plan.router.masking, request.messages)
        self.reservations: dict[int, Reservation | None] = {}

    def prompt_tokens(self) -> int:
        if self._prompt_tokens is None:
            self._prompt_tokens = count_prompt_tokens(self.request.messages)
        return self._prompt_tokens

    def request_for(self, model: ModelSpec) -> Request:
        """The request as sent to ``model``: with the reasoning effort its task asks of it."""
        task = self.plan.task
        effort = task.reasoning_effort_for(model) if task is not None else model.reasoning_effort
        request = replace(self.request, reasoning_effort=effort) if effort else self.request
        if self.masks(model):
            request = replace(request, messages=self.masking.masked_messages())
        return request

    def masks(self, model: ModelSpec) -> bool:
        """Whether what ``model`` is sent is masked: the router masks and the model is remote."""
        return self.masking.active and not _in_process(model)

    def budget(self, model: ModelSpec, request: Request) -> int | None:
        return token_budget(model, request.max_tokens)

    def gate(
        self, model: ModelSpec, adapter: ProviderAdapter | None, request: Request, now_perf: float
    ) -> bool:
        """Whether ``model`` may be called now; a skip is recorded (with its row) when not."""
        if adapter is None:
            return self._skip(
                model, CallOutcome.SKIPPED_UNCONFIGURED, f"no adapter for provider kind {model.kind!r}"
            )
        reason = adapter.unavailable(model)
        if reason:
            return self._skip(model, CallOutcome.SKIPPED_UNCONFIGURED, reason)
        if self.masks(model) and self.masking.blocks_remote():
            reason = "the request holds a card number, IBAN or secret: the router keeps it local"
            return self._skip(model, CallOutcome.SKIPPED_SENSITIVE, reason)
        if adapter.always_available:
            return True  # the last resort is never skipped for the deadline, a cooldown or its size
        overflow = context_overflow(model, self.prompt_tokens(), self.budget(model, request))
        if overflow:
            return self._skip(model, CallOutcome.CONTEXT_TOO_LONG, overflow)
        if self.plan.probe:
            # a probe asks even a model that refused before or is cooling down, within the budget
            return self._reserve(model, request)
        shape = (
            adapter.request_shape(model, request, streaming=self.streaming)
            if model.rejected_request_shapes
            else ""
        )
        if shape and shape in model.rejected_request_shapes:
            return self._skip(
                model,
                CallOutcome.SKIPPED_REJECTED,
                f"the provider refused requests of this shape ({shape}); edit the model in the admin",
            )
        if now_perf >= self.plan.deadline:
            return self._skip(model, CallOutcome.TIMEOUT, "request deadline reached before this attempt")
        health = self.plan.health.get(model.id)
        state = breaker.breaker_state(health, time.time())
        if state == breaker.OPEN:
            return self._skip(
                model, CallOutcome.SKIPPED_OPEN_CIRCUIT, f"circuit open: {(health or {}).get('reason', '')}"
            )
        if state == breaker.HALF_OPEN:
            if not trial_take(model.id, int(model.timeout_seconds) + 2):
                return self._skip(
                    model, CallOutcome.SKIPPED_OPEN_CIRCUIT, "circuit half-open: trial in flight"
                )
            self.trials.add(model.id)
        return self._reserve(model, request)

    def _reserve(self, model: ModelSpec, request: Request) -> bool:
        """Reserve the call's worst-case cost on the router's budgets; a skip when a cap can't take it."""
        if not self.plan.router.budgets:
            return True
        worst = worst_case_cost(model, self.prompt_tokens(), self.budget(model, request))
        try:
            self.reservations[model.id] = budget_reserve(self.plan.router.budgets, self.plan.task_name, worst)
        except BudgetRefused as refused:
            return self._skip(model, CallOutcome.SKIPPED_BUDGET, str(refused))
        return True

    def _close(self, model: ModelSpec, call: ModelCall, **values: Any) -> None:
        """Complete the attempt's row, and put what it really cost in place of its reservation."""
        call_close(call, **values)
        budget_settle(self.reservations.pop(model.id, None), values["cost"])

    def _skip(self, model: ModelSpec, outcome: str, error: str) -> bool:
        row = call_skipped(model, self.origin, outcome=outcome, error=error)
        self._record(model, outcome, 0, error=error, call_id=row.pk)
        return False

    def open(self, model: ModelSpec, request: Request) -> ModelCall:
        """The attempt's row, before the request leaves."""
        return call_open(
            model, self.origin, prompt_tokens=self.prompt_tokens(), budget=self.budget(model, request)
        )

    def _record(
        self, model: ModelSpec, outcome: str, latency_ms: int, *, error: str = "", call_id: int | None
    ) -> None:
        masked = self.masking.total if self.masks(model) and outcome != CallOutcome.SKIPPED_SENSITIVE else 0
        self.attempts.append(Attempt(model.slug, outcome, latency_ms, error, call_id, masked))
        router, task = self.plan.router.name, self.plan.task_name or "-"
        # one line per model call, readable as text and with its fields as JSON; never text or a key
        logger.info(
            "model call %s/%s -> %s: %s in %d ms",
            router,
            task,
            model.slug,
            outcome,
            latency_ms,
            extra={
                "router": router,
                "task": self.plan.task_name,
                "model": model.slug,
                "outcome": outcome,
                "latency_ms": latency_ms,
                "ticket_id": self.ticket_id,
                "step_id": self.step_id,
            },
        )

    def failed(
        self,
        model: ModelSpec,
        adapter: ProviderAdapter,
        request: Request,
        call: ModelCall,
        failure: CallFailure,
        latency_ms: int,
        progress: Progress,
    ) -> None:
        """Complete the row; an availability failure goes to the model's breaker at once, a
        refused request to the model's catalog entry (a configuration error, not an outage)."""
        usage = progress.usage or Usage(0, 0, estimated=False)
        self._close(
            model,
            call,
            outcome=failure.outcome,
            latency_ms=latency_ms,
            usage=usage,
            cost=model_cost(model, usage),
            error=failure.message,
        )
        self._record(model, failure.outcome, latency_ms, error=failure.message, call_id=call.pk)
        if failure.outcome == CallOutcome.REQUEST_REJECTED and not adapter.always_available:
            shape = adapter.request_shape(model, request, streaming=self.streaming)
            model_record_rejection(model, shape, failure.message)
        if not adapter.always_available and failure.outcome not in NOT_AVAILABILITY_FAILURES:
            # From the shared state as it is now, not as the plan read it before the call: another
            # request may have opened the breaker meanwhile, and a record built on the stale copy
            # would close it again (last writer wins).
            record = breaker.breaker_record_failure(
                health_read(model.id),
                time.time(),
                outcome=failure.outcome,
                retry_after=failure.retry_after,
            )
            self.plan.health[model.id] = record
            health_write(model.id, record)
        self._release_trial(model)

    def succeeded(
        self,
        adapter: ProviderAdapter,
        call: ModelCall | None,
        served: Served,
        on_served: OnServed | None,
        *,
        answers: list[dict[str, Any]] | None = None,
    ) -> RouteResult:
        """Complete the row (with ``on_served``'s writes, in one transaction), then the shared state.
        ``call`` None: a doubted answer served after all, whose row and shared state are complete."""
        model = served.model
        if call is not None:
            self._record(model, CallOutcome.OK, served.latency_ms, call_id=call.pk)
        result = _result(self.plan, self.attempts, served, last_resort=adapter.always_available)
        if answers:
            reasons = [a["doubt"] for a in answers if a["doubt"]]
            result = replace(result, answers=answers, escalation_reason="; ".join(reasons))
        # one statement commits alone; with the caller's writes, one transaction holds both
        with transaction.atomic() if on_served is not None else nullcontext():
            if call is not None:
                self._close(
                    model,
                    call,
                    outcome=CallOutcome.OK,
                    latency_ms=served.latency_ms,
                    usage=served.usage,
                    cost=served.cost,
                )
            if on_served is not None:
                on_served(result)
        if call is None:
            return result
        if not adapter.always_available:
            self._shared_state_after_success(served)
        if self.plan.pin_key and self.plan.pinned_model_id != model.id:
            pin = affinity.pin_value(model.id, self.plan.task_name)
            cache.set(self.plan.pin_key, pin, timeout=self.plan.router.affinity_ttl_seconds)
        self._release_trial(model)
        return result

    def doubted(self, adapter: ProviderAdapter, call: ModelCall, served: Served, reason: str) -> None:
        """An answer the cascade doubts: its row completes as the paid, valid call it was; the attempt
        says why the next pool model is asked."""
        self._close(
            served.model,
            call,
            outcome=CallOutcome.OK,
            latency_ms=served.latency_ms,
            usage=served.usage,
            cost=served.cost,
        )
        self._record(
            served.model, CallOutcome.OK, served.latency_ms, error=f"escalated: {reason}", call_id=call.pk
        )
        if not adapter.always_available:
            self._shared_state_after_success(served)
        self._release_trial(served.model)

    def _shared_state_after_success(self, served: Served) -> None:
        model, now = served.model, time.time()
        if breaker.breaker_success_changes(self.plan.health.get(model.id), now):
            # re-read: the plan's copy may predate an open; and a success only closes an open breaker
            # when it was the half-open trial (a call that started before the breaker opened and
            # answered late says nothing about the model now)
            health = health_read(model.id)
            opened = breaker.breaker_state(health, now) == breaker.OPEN and model.id not in self.trials
            if not opened and breaker.breaker_success_changes(health, now):
                health_write(model.id, breaker.breaker_record_success(health, now))
        task = self.plan.task
        if task is not None and policy_for(task.policy).needs_latency:
            record = latency.latency_record(
                self.plan.latency.get(model.id),
                total_ms=served.latency_ms,
                first_token_ms=served.first_token_ms,
            )
            cache.set(latency.latency_key(task.id, model.id), record, timeout=latency.LATENCY_TTL)

    def closed_by_caller(
        self, model: ModelSpec, call: ModelCall, latency_ms: int, progress: Progress
    ) -> None:
        """A stream the caller stopped reading: account for what was generated so far."""
        usage = _partial_usage(self, progress)
        self._close(
            model,
            call,
            outcome=CallOutcome.OK,
            latency_ms=latency_ms,
            usage=usage,
            cost=model_cost(model, usage),
            error="stream closed by the caller",
        )
        self._record(model, CallOutcome.OK, latency_ms, error="stream closed by the caller", call_id=call.pk)

    def _release_trial(self, model: ModelSpec) -> None:
        if model.id in self.trials:
            self.trials.discard(model.id)
            trial_release(model.id)

    def release_all_trials(self) -> None:
        for model_id in list(self.trials):
            trial_release(model_id)
        self.trials.clear()


# outcomes that say nothing about whether the model is up: they never open its breaker
NOT_AVAILABILITY_FAILURES = (
    CallOutcome.BAD_REQUEST,
    CallOutcome.INVALID_OUTPUT,
    CallOutcome.TRUNCATED,
    CallOutcome.SKIPPED_UNCONFIGURED,
    CallOutcome.REQUEST_REJECTED,
    CallOutcome.CONTEXT_TOO_LONG,
)


def model_record_rejection(model: ModelSpec, shape: str, message: str) -> None:
    """Note on the catalog entry that its provider refused requests of ``shape`` (shown in the
    admin; such requests are skipped until the model is edited), and tell every process. A shape
    already noted changes nothing (no write, no configuration rebuild in every process)."""
    if shape in model.rejected_request_shapes:
        return
    shapes = "\n".join((*model.rejected_request_shapes, shape))
    LLMModel.objects.filter(pk=model.id).update(
        rejected_request_shape=shapes, rejected_message=message[:2000], rejected_at=timezone.now()
    )
    config_bump_version()


def models_clear_refusals(model_ids: Iterable[int]) -> None:
    """Forget recorded refusals (a probe of the model succeeded): its requests are sent again."""
    cleared = LLMModel.objects.filter(pk__in=list(model_ids), rejected_at__isnull=False).update(
        rejected_request_shape="", rejected_message="", rejected_at=None
    )
    if cleared:
        config_bump_version()


def _elapsed_ms(since: float) -> int:
    return max(int(round((time.perf_counter() - since) * 1000)), 0)


def _timeout(plan: Plan, model: ModelSpec, started: float) -> float:
    return max(min(model.timeout_seconds, plan.deadline - started), 0.05)


def _partial_usage(log: AttemptLog, progress: Progress) -> Usage:
    return Usage(log.prompt_tokens(), count_text_tokens("".join(progress.parts)), estimated=True)


def _result(plan: Plan, attempts: list[Attempt], served: Served, *, last_resort: bool) -> RouteResult:
    return RouteResult(
        content=served.content,
        parsed=served.parsed,
        served_by=served.model.slug,
        matched_task=plan.task_name,
        pinned=plan.pinned_model_id == served.model.id,
        attempts=list(attempts),
        prompt_tokens=served.usage.prompt_tokens,
        completion_tokens=served.usage.completion_tokens,
        tokens_estimated=served.usage.estimated,
        cost=served.cost,
        latency_ms=_elapsed_ms(plan.started),
        classification_score=plan.classification.score if plan.classification else None,
        last_resort=last_resort,
        reasoning_tokens=served.usage.reasoning_tokens,
        cached_tokens=served.usage.cached_tokens,
        finish_reason=served.finish_reason,
    )


# --- the one failover loop ----------------------------------------------------------------------
# An attempt calls one model and returns the events to forward while it runs (none for a single
# answer), setting ``progress.served`` once it has an acceptable answer; it raises CallFailure.
AttemptFn = Callable[[ModelSpec, ProviderAdapter, Request, float, Progress], Iterable[StreamEvent]]


# Why an acceptable answer is doubtful ("" when it isn't): the task's cascade asks the next pool model.
Doubt = Callable[[Any], str]


@dataclass
class Doubted:
    """A served answer the cascade doubted: billed, and kept in case no later pool model answers."""

    adapter: ProviderAdapter
    served: Served
    reason: str


def _failover(
    plan: Plan, log: AttemptLog, attempt: AttemptFn, on_served: OnServed | None, doubt: Doubt | None = None
) -> Iterator[StreamEvent]:
    """Try each candidate in order until one serves: ``chunk`` events, then ``done`` (or ``error``
    when a stream fails after its content began). Raises RoutingError when every candidate failed.

    With ``doubt`` (a cascading task), a pool model's answer that ``doubt`` questions is billed and
    recorded, and the next pool model is asked; when none answers, the doubted answer is served."""
    pool = {entry.model.id for entry in plan.task.pool} if plan.task is not None else set()
    doubted: list[Doubted] = []
    try:
        for index, model in enumerate(plan.candidates):
            if doubted and model.id not in pool:
                break  # a doubted answer beats a fallback model's: keep it
            adapter = _adapter(model)
            started = time.perf_counter()
            request = log.request_for(model)
            if not log.gate(model, adapter, request, started):
                continue
            assert adapter is not None  # the gate skips a model without one
            call = log.open(model, request)
            progress = Progress()
            try:
                yield from attempt(model, adapter, request, started, progress)
            except CallFailure as failure:
                if progress.forwarded and progress.usage is None:
                    progress.usage = _partial_usage(log, progress)
                log.failed(model, adapter, request, call, failure, _elapsed_ms(started), progress)
                if not progress.forwarded:
                    continue
                error = f"{model.slug} failed after streaming began: {failure}"
                yield StreamEvent(kind="error", error=error, attempts=tuple(log.attempts))
                return
            except GeneratorExit:
                log.closed_by_caller(model, call, _elapsed_ms(started), progress)
                raise
            assert progress.served is not None
            later_pool_model = any(m.id in pool for m in plan.candidates[index + 1 :])
            reason = doubt(progress.served.parsed) if doubt is not None and later_pool_model else ""
            if reason:
                log.doubted(adapter, call, progress.served, reason)
                doubted.append(Doubted(adapter, progress.served, reason))
                continue
            answers = _answers(doubted, progress.served, kept=progress.served)
            result = log.succeeded(adapter, call, progress.served, on_served, answers=answers)
            yield StreamEvent(kind="done", result=result, attempts=tuple(log.attempts))
            return
        if doubted:  # the escalation found no better answer: serve the first doubted one
            first = doubted[0]
            answers = _answers(doubted, None, kept=first.served)
            result = log.succeeded(first.adapter, None, first.served, on_served, answers=answers)
            yield StreamEvent(kind="done", result=result, attempts=tuple(log.attempts))
            return
        raise RoutingError(f"Every model failed for router {plan.router.name!r}", log.attempts)
    finally:
        log.release_all_trials()


def _answers(doubted: list[Doubted], last: Served | None, *, kept: Served) -> list[dict[str, Any]]:
    """Every answer the cascade got, in order, and which one was kept (empty without a cascade)."""
    if not doubted:
        return []
    entries = [(d.served, d.reason) for d in doubted] + ([(last, "")] if last is not None else [])
    return [
        {
            "model": served.model.slug,
            "result": served.parsed,
            "confidence": _confidence(served.parsed),
            "doubt": reason,
            "kept": served is kept,
            "cost": str(served.cost),
        }
        for served, reason in entries
    ]


def _confidence(parsed: Any) -> float | None:
    value = parsed.get("confidence") if isinstance(parsed, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def cascade_doubt(task: TaskSpec | None, local_check: Doubt | None) -> Doubt | None:
    """The task's cascade test: a stated confidence below its threshold, or (when it checks) the
    caller's comparison with the local model; None when the task doesn't cascade."""
    if task is None or not task.cascade_enabled:
        return None

    def doubt(parsed: Any) -> str:
        confidence = _confidence(parsed)
        if confidence is not None and confidence < task.cascade_threshold:
            return f"low confidence {confidence:.2f}"
        if task.cascade_on_local_disagreement and local_check is not None:
            return local_check(parsed)
        return ""

    return doubt


def _validate(content: str, validator: Validator | None) -> Any:
    if not content.strip():
        raise CallFailure(CallOutcome.INVALID_OUTPUT, "empty response")
    if validator is None:
        return content
    try:
        parsed = validator(content)
        # what a caller keeps must be storable text: a lone surrogate ("\udc80" in the JSON) can't
        # be encoded, so the database would refuse the step's result
        json.dumps(parsed, ensure_ascii=False).encode()
        content.encode()
        return parsed
    except Exception as error:  # whatever a parser raises on hostile output is that output's fault
        reason = (
            str(error)[:300]
            if isinstance(error, ValueError)
            else f"{type(error).__name__}: {str(error)[:200]}"
        )
        raise CallFailure(CallOutcome.INVALID_OUTPUT, f"rejected by validator: {reason}") from error


def _truncated(usage: Usage) -> CallFailure:
    thought = f", {usage.reasoning_tokens} of them reasoning" if usage.reasoning_tokens else ""
    return CallFailure(
        CallOutcome.TRUNCATED,
        f"answer cut at the token limit (finish_reason length) after {usage.completion_tokens} "
        f"tokens{thought}",
    )


def _validate_answer(content: str, finish_reason: str, usage: Usage, validator: Validator | None) -> Any:
    """The parsed answer. A cut answer (finish_reason length) is ``truncated`` when it is empty or
    the validator rejects it; one that still passes (a client's own small limit) is served."""
    try:
        return _validate(content, validator)
    except CallFailure as failure:
        if finish_reason == "length":
            raise _truncated(usage) from failure
        raise


def _answer_attempt(plan: Plan, log: AttemptLog, validator: Validator | None) -> AttemptFn:
    """One complete answer per attempt, accepted only when the validator accepts it; a masked
    request's answer gets the real values back before anyone stores or shows it."""

    def attempt(
        model: ModelSpec, adapter: ProviderAdapter, request: Request, started: float, progress: Progress
    ) -> Iterable[StreamEvent]:
        completion = adapter.complete(model, request, timeout=_timeout(plan, model, started))
        progress.usage = completion.usage
        # a rejected or cut answer is still billed: its usage is on the row
        parsed = _validate_answer(completion.content, completion.finish_reason, completion.usage, validator)
        content = completion.content
        if log.masks(model):
            content, parsed = log.masking.restore_text(content), log.masking.restore(parsed)
        progress.served = Served(
            model,
            content,
            parsed,
            completion.usage,
            model_cost(model, completion.usage),
            _elapsed_ms(started),
            finish_reason=completion.finish_reason,
        )
        return ()  # nothing to forward while it ran

    return attempt


def route(
    router: Router | str,
    messages: list[dict[str, str]],
    *,
    task: str | None = None,
    affinity_key: str | None = None,
    validator: Validator | None = None,
    json_mode: bool = False,
    ticket_id: int | None = None,
    step_id: int | None = None,
    max_tokens: int | None = None,
    urgency: int | None = None,
    on_served: OnServed | None = None,
    temperature: float | None = None,
    only_model: int | None = None,
    local_check: Doubt | None = None,
) -> RouteResult:
    """Route one chat request; raises :class:`RoutingError` when every candidate failed.

    ``urgency`` (1-5), when known, restricts tiered pools to the entries serving it. ``on_served``
    runs inside the transaction that completes the serving attempt's row. ``temperature`` goes to
    models whose profile accepts one. ``only_model`` (a catalog id) probes that model alone.
    ``local_check`` compares an answer with the local model's ("" when they agree) for a task
    whose cascade asks for it.
    """
    plan = plan_request(
        router,
        messages,
        task=task,
        affinity_key=affinity_key,
        streaming=False,
        urgency=urgency,
        only_model=only_model,
    )
    request = Request(
        messages=messages,
        task=plan.task_name,
        json_mode=json_mode,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    log = AttemptLog(plan, request, ticket_id=ticket_id, step_id=step_id, streaming=False)
    doubt = cascade_doubt(plan.task, local_check) if only_model is None else None
    for event in _failover(plan, log, _answer_attempt(plan, log, validator), on_served, doubt):
        if event.result is not None:
            return event.result
    raise RoutingError(f"Every model failed for router {plan.router.name!r}", log.attempts)  # not reached


# --- streaming -----------------------------------------------------------------------------------
def _stream_attempt(plan: Plan, log: AttemptLog) -> AttemptFn:
    """Forward the model's chunks; hold them back until the first content arrives (the failover
    window). The read timeout is the task's first-token limit, so after the first token a gap
    between two chunks longer than that also ends the stream (with an error event, never silently)."""
    first_token_limit = plan.task.first_token_timeout_seconds if plan.task else 10.0

    def attempt(
        model: ModelSpec, adapter: ProviderAdapter, request: Request, started: float, progress: Progress
    ) -> Iterator[StreamEvent]:
        timeout = _timeout(plan, model, started)
        first_token_deadline = started + min(first_token_limit, timeout)
        held: list[StreamEvent] = []
        usage: Any = None
        finished = ""
        first_token_ms: float | None = None
        chunks = adapter.stream(
            model, request, timeout=timeout, first_token_timeout=min(first_token_limit, timeout)
        )
        restorer = StreamRestorer(log.masking.replacements) if log.masks(model) else None
        last_content_chunk: Any = None
        try:
            for chunk in chunks:
                usage = chunk.usage or usage
                choice = chunk.choices[0] if chunk.choices else None
                delta = (choice.delta.content or "") if choice is not None and choice.delta else ""
                finished = finished or (str(choice.finish_reason or "") if choice is not None else "")
                if restorer is not None and choice is not None and choice.delta is not None:
                    # the caller gets the real values back, a placeholder split across chunks included
                    delta = restorer.feed(delta) + (restorer.flush() if choice.finish_reason else "")
                    choice.delta.content = delta
                    last_content_chunk = chunk
                event = StreamEvent(kind="chunk", delta=delta, chunk=chunk, matched_task=plan.task_name)
                if progress.forwarded:
                    progress.parts.append(delta)
                    yield event
                    continue
                if time.perf_counter() > first_token_deadline:
                    raise CallFailure(CallOutcome.TIMEOUT, f"no first token within {first_token_limit:g}s")
                held.append(event)
                if delta:
                    progress.forwarded = True
                    first_token_ms = (time.perf_counter() - started) * 1000
                    progress.parts.append(delta)
                    yield from held
                    held.clear()
            if restorer is not None and restorer.pending and last_content_chunk is not None:
                # the stream ended without a finish_reason on a content chunk: send what was held back
                rest = restorer.flush()
                tail = last_content_chunk.model_copy(deep=True)
                tail.choices[0].delta.content, tail.choices[0].finish_reason = rest, None
                progress.forwarded = True
                progress.parts.append(rest)
                yield from held
                held.clear()
                yield StreamEvent(kind="chunk", delta=rest, chunk=tail, matched_task=plan.task_name)
        finally:
            getattr(chunks, "close", lambda: None)()
        if not finished:
            raise CallFailure(CallOutcome.CONNECTION_ERROR, "stream ended before the model finished")
        content = "".join(progress.parts)
        served_usage = reported_usage(usage, messages=request.messages, content=content)
        progress.usage = served_usage
        if not progress.forwarded:  # a reasoning model can spend its whole budget thinking
            raise (
                _truncated(served_usage)
                if finished == "length"
                else CallFailure(CallOutcome.INVALID_OUTPUT, "empty response")
            )
        progress.served = Served(
            model,
            content,
            content,
            served_usage,
            model_cost(model, served_usage),
            _elapsed_ms(started),
            first_token_ms,
            finish_reason=finished,
        )

    return attempt


def route_stream(
    router: Router | str,
    messages: list[dict[str, str]],
    *,
    task: str | None = None,
    affinity_key: str | None = None,
    ticket_id: int | None = None,
    max_tokens: int | None = None,
    urgency: int | None = None,
) -> Iterator[StreamEvent]:
    """Stream a routed request: ``chunk`` events as they come, then ``done`` (or ``error``).

    Fails over until the first content chunk is forwarded (also when it doesn't come within the
    task's first-token limit). After that a failure ends the stream with an ``error`` event. When
    every candidate fails before any content, raises :class:`RoutingError` like ``route()``.
    """
    plan = plan_request(
        router, messages, task=task, affinity_key=affinity_key, streaming=True, urgency=urgency
    )
    request = Request(messages=messages, task=plan.task_name, max_tokens=max_tokens)
    log = AttemptLog(plan, request, ticket_id=ticket_id, step_id=None, streaming=True)
    yield from _failover(plan, log, _stream_attempt(plan, log), None)
