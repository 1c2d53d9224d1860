"""The routing service: the one public entry for asking "a model" anything.

``route()`` (and ``route_stream()``) take a router, chat messages and optionally a task name;
they pick the task (named, pinned, or classified), order the candidates by the task's policy,
call them through the provider's OpenAI-compatible API (or the in-process local tier), fail over
on timeouts, connection errors, 429, 5xx/overloaded and rejected output, and record every attempt
as a ``ModelCall`` row. Callers name tasks, never models.

Per request in steady state: the shared state (config version, breaker and latency records) from
this process's mirror of the shared cache (``mirror.py``; one ``get_many`` when there is no mirror
or an affinity pin to read), the provider call, a ``set_many`` only when breaker, latency or pin
state changes, and the audit rows handed to a per-process writer thread that inserts them in
batches (``audit.py``). No routing-config query: that lives in the per-process snapshot
(``config.py``).

This module must never retry inside a provider call (the SDK runs with ``max_retries=0``), never
skip the last-resort local model for a cooldown, and never log or store an API key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta

from triage.local_models.registry import get_local_model
from triage.models import CallOutcome, ModelCall, Router
from triage.routing import affinity, breaker, latency
from triage.routing.audit import audit_record
from triage.routing.classifier import Classification, EncoderUnavailable, TaskClassifier, classifier_build
from triage.routing.config import (
    CONFIG_VERSION_KEY,
    ModelSpec,
    RouterSpec,
    Snapshot,
    TaskSpec,
    config_version_read,
    snapshot_current,
    snapshot_refresh,
)
from triage.routing.mirror import mirror_read, mirror_write
from triage.routing.policies import select_candidates
from triage.routing.pricing import call_cost
from triage.routing.providers import (
    CallFailure,
    Request,
    call_local,
    call_remote,
    local_available,
    provider_key,
    stream_remote,
)
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


@dataclass(frozen=True)
class RouteResult:
    content: str  # the raw text the serving model returned
    parsed: Any  # what the validator returned (the content when there is none)
    served_by: str  # model slug
    matched_task: str | None
    pinned: bool  # served by the model the affinity key was pinned to
    attempts: list[Attempt]  # every attempt in order; the last one is the "ok"
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool
    cost: Decimal  # of the serving call, at the serving model's catalog prices
    latency_ms: int  # the whole request, all attempts included
    completion: ChatCompletion | None = field(default=None, repr=False, compare=False)
    classification_score: float | None = None  # when the task was classified


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


MODEL_PREFIX = "model:"


def direct_model_spec(snapshot: Snapshot, slug: str) -> RouterSpec:
    """A one-model 'router' for direct calls to a catalog model (``model:<slug>``): the model,
    then the local last resort, with the same breaker, deadline and accounting as any route."""
    model = next((m for m in snapshot.models_by_id.values() if m.slug == slug and m.usable), None)
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


def _state_keys(snapshot: Snapshot, router: RouterSpec) -> tuple[list[str], list[tuple[int, int, str]]]:
    """Breaker keys of every model the router can name, latency keys of its latency-ranked pools."""
    cache_key = ("state-keys", router.id)
    keys = snapshot.derived.get(cache_key)
    if keys is None:
        health_keys = [breaker.health_key(model_id) for model_id in router.model_ids]
        latency_keys = [
            (task.id, model.id, latency.latency_key(task.id, model.id))
            for task in router.tasks.values()
            if task.policy == "lowest_latency"
            for model in (entry.model for entry in task.pool)
        ]
        keys = (health_keys, latency_keys)
        snapshot.derived[cache_key] = keys
    return keys


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


def last_resort(snapshot: Snapshot, router: RouterSpec, task_name: str | None) -> list[ModelSpec]:
    """Local models in the router's fallbacks that serve the task, else any enabled local that does."""
    from_fallbacks = [
        m for m in router.fallbacks if m.is_local and m.usable and local_available(m, task_name)
    ]
    if from_fallbacks:
        return from_fallbacks
    serving = [m for m in snapshot.local_catalog if local_available(m, task_name)]
    # a model made for this task before one that answers anything
    return sorted(serving, key=lambda m: not getattr(get_local_model(m.slug), "tasks", frozenset()))


def build_chain(
    snapshot: Snapshot,
    router: RouterSpec,
    ordered_pool: Sequence[ModelSpec],
    task_name: str | None,
    pinned: ModelSpec | None,
) -> list[ModelSpec]:
    """Pinned model, the policy's order, the router's remote fallbacks, then the local last resort."""
    chain: list[ModelSpec] = [pinned] if pinned else []
    chain += ordered_pool
    chain += [m for m in router.fallbacks if not m.is_local and m.usable]
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
    latency_keys: list[tuple[int, int, str]]


def read_shared_state(
    router_ref: Router | str | int, *, task: str | None, affinity_key: str | None
) -> SharedState:
    """Config version, breaker and latency state, and the affinity pin: one cache round trip, or
    none when this process's mirror holds them (``mirror.py``; a pin is always read).

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
        health_keys, latency_keys = _state_keys(snapshot, router)
        pin_key = affinity.request_pin_key(router.id, affinity_key, task) if affinity_key else None
        keys = [CONFIG_VERSION_KEY, *health_keys, *(key for _, _, key in latency_keys)]
        if pin_key:
            keys.append(pin_key)
        # a pin is per conversation: read with the rest from the cache; else the process's mirror
        values = cache.get_many(keys) if pin_key else mirror_read(keys)
        version = values.get(CONFIG_VERSION_KEY) or config_version_read()
        if version == snapshot.version:
            break
        snapshot_refresh(str(version))
    return SharedState(snapshot, router, values, pin_key, latency_keys)


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
) -> Plan:
    """Decide the task and the ordered candidates with one shared-cache read."""
    started = time.perf_counter()
    shared = read_shared_state(router_ref, task=task, affinity_key=affinity_key)
    router, values = shared.router, shared.values
    health = {model_id: values.get(breaker.health_key(model_id)) for model_id in router.model_ids}
    pin = values.get(shared.pin_key) if shared.pin_key else None
    pinned_model = _pinned_model(shared.snapshot, pin, task)
    task_spec, task_name, classification = resolve_task(
        shared, messages, task=task, pin=pin, pinned=pinned_model
    )
    latency_state: dict[int, latency.LatencyRecord | None] = {}
    ordered: list[ModelSpec] = []
    if task_spec is not None:
        latency_state = {
            model_id: values.get(key)
            for task_id, model_id, key in shared.latency_keys
            if task_id == task_spec.id
        }
        ordered = select_candidates(
            task_spec,
            latency=latency_state,
            health=health,
            now=time.time(),
            streaming=streaming,
            urgency=urgency,
        )
    return Plan(
        router=router,
        task=task_spec,
        task_name=task_name,
        candidates=build_chain(shared.snapshot, router, ordered, task_name, pinned_model),
        pinned_model_id=pinned_model.id if pinned_model else None,
        pin_key=shared.pin_key,
        health=health,
        latency=latency_state,
        started=started,
        deadline=started + router.deadline_seconds,
        classification=classification,
    )


def _pinned_model(snapshot: Snapshot, pin: Any, task: str | None) -> ModelSpec | None:
    model_id = affinity.pin_model_id(pin)
    model = snapshot.models_by_id.get(model_id) if model_id is not None else None
    if model is None or not model.usable:
        return None
    if model.is_local and not local_available(model, task if task is not None else pin.get("task")):
        return None
    return model


# --- one request's attempts, their accounting and their shared-state writes ---------------------
@dataclass
class Served:
    model: ModelSpec
    completion: ChatCompletion | None
    content: str
    parsed: Any
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool
    cost: Decimal
    latency_ms: int


class AttemptLog:
    """Collects attempts and their audit rows; writes breaker, latency and pin state."""

    def __init__(self, plan: Plan, *, ticket_id: int | None, step_id: int | None) -> None:
        self.plan = plan
        self.ticket_id = ticket_id
        self.step_id = step_id
        self.attempts: list[Attempt] = []
        self.rows: list[ModelCall] = []
        self.trials: set[int] = set()

    # gatekeeping before a call
    def gate(self, model: ModelSpec, now_perf: float) -> Attempt | None:
        """An attempt that skips ``model`` (recorded), or None when it may be called."""
        if model.is_local:
            return None  # the offline tier is never skipped for a cooldown or a key
        if provider_key(model) is None:
            return self.skip(model, CallOutcome.SKIPPED_UNCONFIGURED, f"{model.api_key_env} is not set")
        if now_perf >= self.plan.deadline:
            return self.skip(model, CallOutcome.TIMEOUT, "request deadline reached before this attempt")
        state = breaker.breaker_state(self.plan.health.get(model.id), time.time())
        if state == breaker.OPEN:
            reason = (self.plan.health.get(model.id) or {}).get("reason", "")
            return self.skip(model, CallOutcome.SKIPPED_OPEN_CIRCUIT, f"circuit open: {reason}")
        if state == breaker.HALF_OPEN:
            lock_seconds = int(model.timeout_seconds) + 2
            if not cache.add(breaker.trial_key(model.id), 1, timeout=lock_seconds):
                return self.skip(
                    model, CallOutcome.SKIPPED_OPEN_CIRCUIT, "circuit half-open: trial in flight"
                )
            self.trials.add(model.id)
        return None

    def skip(self, model: ModelSpec, outcome: str, error: str) -> Attempt:
        return self.add(model, outcome, 0, error=error)

    def add(
        self,
        model: ModelSpec,
        outcome: str,
        latency_ms: int,
        *,
        error: str = "",
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        estimated: bool = False,
        cost: Decimal = Decimal(0),
    ) -> Attempt:
        attempt = Attempt(model=model.slug, outcome=outcome, latency_ms=latency_ms, error=error)
        self.attempts.append(attempt)
        # one structured line per model call; never the request's text, never a key
        logger.info(
            "model call",
            extra={
                "router": self.plan.router.name,
                "task": self.plan.task_name,
                "model": model.slug,
                "outcome": outcome,
                "latency_ms": latency_ms,
                "ticket_id": self.ticket_id,
                "step_id": self.step_id,
            },
        )
        self.rows.append(
            ModelCall(
                router_id=self.plan.router.id if self.plan.router.id > 0 else None,
                task_name=self.plan.task_name or "",
                model_id=model.id,
                model_slug=model.slug,
                ticket_id=self.ticket_id,
                step_id=self.step_id,
                started_at=timezone.now(),
                latency_ms=latency_ms,
                outcome=outcome,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                tokens_estimated=estimated,
                cost=cost,
                error=error[:2000],
            )
        )
        return attempt

    def failed(self, model: ModelSpec, failure: CallFailure, latency_ms: int, **usage: Any) -> None:
        """Record a failed call; availability failures go to the model's breaker at once."""
        self.add(model, failure.outcome, latency_ms, error=failure.message, **usage)
        if model.is_local or failure.outcome == CallOutcome.SKIPPED_UNCONFIGURED:
            return
        writes: dict[str, Any] = {}
        if failure.outcome != CallOutcome.INVALID_OUTPUT:
            # From the shared state as it is now, not as the plan read it before the call: under
            # concurrency another request may have opened the breaker meanwhile, and writing a record
            # built on the stale copy would close it again (last writer wins).
            record = breaker.breaker_record_failure(
                cache.get(breaker.health_key(model.id)),
                time.time(),
                outcome=failure.outcome,
                retry_after=failure.retry_after,
            )
            self.plan.health[model.id] = record
            writes[breaker.health_key(model.id)] = record
        if writes:
            mirror_write(writes, timeout=breaker.HEALTH_TTL)
        self._release_trial(model)

    def succeeded(self, served: Served, *, first_token_ms: float | None = None) -> None:
        model = served.model
        self.add(
            model,
            CallOutcome.OK,
            served.latency_ms,
            prompt_tokens=served.prompt_tokens,
            completion_tokens=served.completion_tokens,
            estimated=served.tokens_estimated,
            cost=served.cost,
        )
        health_writes: dict[str, Any] = {}
        if not model.is_local:
            now = time.time()
            if breaker.breaker_success_changes(self.plan.health.get(model.id), now):
                health = self._fresh_health_for_success(model, now)
                if health is not None:
                    health_writes[breaker.health_key(model.id)] = breaker.breaker_record_success(health, now)
            task = self.plan.task
            if task is not None and task.policy == "lowest_latency":
                key = latency.latency_key(task.id, model.id)
                health_writes[key] = latency.latency_record(
                    self.plan.latency.get(model.id), total_ms=served.latency_ms, first_token_ms=first_token_ms
                )
        if health_writes:
            mirror_write(health_writes, timeout=breaker.HEALTH_TTL)
        if self.plan.pin_key and self.plan.pinned_model_id != model.id:
            pin = affinity.pin_value(model.id, self.plan.task_name)
            cache.set(self.plan.pin_key, pin, timeout=self.plan.router.affinity_ttl_seconds)
        self._release_trial(model)

    def _fresh_health_for_success(self, model: ModelSpec, now: float) -> breaker.Health | None:
        """The model's current health to record a success on, or None when it must not be written.

        Re-read because the plan's copy may predate an open; and a success only closes an open
        breaker when it was the half-open trial: a call that started before the breaker opened
        (and answered late) says nothing about the model now.
        """
        health = cache.get(breaker.health_key(model.id))
        if breaker.breaker_state(health, now) == breaker.OPEN and model.id not in self.trials:
            return None
        if not breaker.breaker_success_changes(health, now):
            return None
        return health

    def _release_trial(self, model: ModelSpec) -> None:
        if model.id in self.trials:
            self.trials.discard(model.id)
            cache.delete(breaker.trial_key(model.id))

    def release_all_trials(self) -> None:
        for model_id in list(self.trials):
            cache.delete(breaker.trial_key(model_id))
        self.trials.clear()

    def write_rows(self) -> None:
        """Hand the request's audit rows to the audit trail (``audit.py``: off the request path)."""
        rows, self.rows = self.rows, []
        audit_record(rows)


def _usage(
    model: ModelSpec, completion: ChatCompletion, messages: Messages, content: str
) -> tuple[int, int, bool]:
    usage = completion.usage
    if usage is not None and not model.is_local:
        return int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0), False
    return count_prompt_tokens(messages), count_text_tokens(content), True


def _cost(model: ModelSpec, prompt_tokens: int, completion_tokens: int) -> Decimal:
    return call_cost(
        input_price_per_m=model.input_price_per_m,
        output_price_per_m=model.output_price_per_m,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


def _elapsed_ms(since: float) -> int:
    return max(int(round((time.perf_counter() - since) * 1000)), 0)


def call_with_failover(
    plan: Plan, request: Request, log: AttemptLog, validator: Validator | None
) -> Served | None:
    """Try each candidate in order until one answers with output the validator accepts."""
    for model in plan.candidates:
        attempt_started = time.perf_counter()
        if log.gate(model, attempt_started) is not None:
            continue
        try:
            if model.is_local:
                completion = call_local(model, request)
            else:
                api_key = provider_key(model) or ""
                timeout = max(min(model.timeout_seconds, plan.deadline - attempt_started), 0.05)
                completion = call_remote(model, request, api_key=api_key, timeout=timeout)
        except CallFailure as failure:
            log.failed(model, failure, _elapsed_ms(attempt_started))
            continue
        latency_ms = _elapsed_ms(attempt_started)
        content = completion.choices[0].message.content or ""
        prompt_tokens, completion_tokens, estimated = _usage(model, completion, request.messages, content)
        cost = _cost(model, prompt_tokens, completion_tokens)
        try:
            parsed = _validate(content, validator)
        except CallFailure as failure:
            log.failed(
                model,
                failure,
                latency_ms,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                estimated=estimated,
                cost=cost,
            )
            continue
        served = Served(
            model, completion, content, parsed, prompt_tokens, completion_tokens, estimated, cost, latency_ms
        )
        log.succeeded(served)
        return served
    return None


def _validate(content: str, validator: Validator | None) -> Any:
    if not content.strip():
        raise CallFailure(CallOutcome.INVALID_OUTPUT, "empty response")
    if validator is None:
        return content
    try:
        return validator(content)
    except (ValueError, TypeError, KeyError) as error:  # InvalidOutput is a ValueError
        raise CallFailure(CallOutcome.INVALID_OUTPUT, f"rejected by validator: {str(error)[:300]}") from error


def _result(plan: Plan, log: AttemptLog, served: Served) -> RouteResult:
    return RouteResult(
        content=served.content,
        parsed=served.parsed,
        served_by=served.model.slug,
        matched_task=plan.task_name,
        pinned=plan.pinned_model_id == served.model.id,
        attempts=list(log.attempts),
        prompt_tokens=served.prompt_tokens,
        completion_tokens=served.completion_tokens,
        tokens_estimated=served.tokens_estimated,
        cost=served.cost,
        latency_ms=_elapsed_ms(plan.started),
        completion=served.completion,
        classification_score=plan.classification.score if plan.classification else None,
    )


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
) -> RouteResult:
    """Route one chat request; raises :class:`RoutingError` when every candidate failed.

    ``urgency`` (1-5), when known, restricts tiered pools to the entries serving it.
    """
    plan = plan_request(
        router, messages, task=task, affinity_key=affinity_key, streaming=False, urgency=urgency
    )
    request = Request(messages=messages, task=plan.task_name, json_mode=json_mode, max_tokens=max_tokens)
    log = AttemptLog(plan, ticket_id=ticket_id, step_id=step_id)
    try:
        served = call_with_failover(plan, request, log, validator)
    finally:
        log.release_all_trials()
        log.write_rows()
    if served is None:
        raise RoutingError(f"Every model failed for router {plan.router.name!r}", log.attempts)
    return _result(plan, log, served)


# --- streaming -----------------------------------------------------------------------------------
def _local_chunk(completion: ChatCompletion, content: str) -> ChatCompletionChunk:
    return ChatCompletionChunk(
        id=completion.id,
        object="chat.completion.chunk",
        created=completion.created,
        model=completion.model,
        choices=[
            ChunkChoice(index=0, delta=ChoiceDelta(role="assistant", content=content), finish_reason="stop")
        ],
    )


@dataclass
class _StreamProgress:
    forwarded: bool = False
    parts: list[str] = field(default_factory=list)
    usage: Any = None
    finished: bool = False
    first_token_ms: float | None = None


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
    log = AttemptLog(plan, ticket_id=ticket_id, step_id=None)
    first_token_limit = plan.task.first_token_timeout_seconds if plan.task else 10.0
    try:
        for model in plan.candidates:
            attempt_started = time.perf_counter()
            if log.gate(model, attempt_started) is not None:
                continue
            if model.is_local:
                served = _serve_local(plan, request, log, model, attempt_started)
                if served is None or served.completion is None:
                    continue
                chunk = _local_chunk(served.completion, served.content)
                yield StreamEvent(
                    kind="chunk", delta=served.content, chunk=chunk, matched_task=plan.task_name
                )
                yield StreamEvent(
                    kind="done", result=_result(plan, log, served), attempts=tuple(log.attempts)
                )
                return
            progress = _StreamProgress()
            try:
                yield from _forward_stream(plan, request, model, attempt_started, first_token_limit, progress)
            except CallFailure as failure:
                if not progress.forwarded:
                    log.failed(model, failure, _elapsed_ms(attempt_started))
                    continue
                log.failed(
                    model, failure, _elapsed_ms(attempt_started), **_partial_usage(model, request, progress)
                )
                error = f"{model.slug} failed after streaming began: {failure}"
                yield StreamEvent(kind="error", error=error, attempts=tuple(log.attempts))
                return
            except GeneratorExit:
                # the caller stopped reading: account for what was generated so far
                log.add(
                    model,
                    CallOutcome.OK,
                    _elapsed_ms(attempt_started),
                    error="stream closed by the caller",
                    **_partial_usage(model, request, progress),
                )
                raise
            served = _stream_served(model, request, progress, attempt_started)
            log.succeeded(served, first_token_ms=progress.first_token_ms)
            yield StreamEvent(kind="done", result=_result(plan, log, served), attempts=tuple(log.attempts))
            return
        raise RoutingError(f"Every model failed for router {plan.router.name!r}", log.attempts)
    finally:
        log.release_all_trials()
        log.write_rows()


def _serve_local(
    plan: Plan, request: Request, log: AttemptLog, model: ModelSpec, started: float
) -> Served | None:
    try:
        completion = call_local(model, request)
        content = completion.choices[0].message.content or ""
        _validate(content, None)
    except CallFailure as failure:
        log.failed(model, failure, _elapsed_ms(started))
        return None
    prompt_tokens, completion_tokens, estimated = _usage(model, completion, request.messages, content)
    cost = _cost(model, prompt_tokens, completion_tokens)
    served = Served(
        model,
        completion,
        content,
        content,
        prompt_tokens,
        completion_tokens,
        estimated,
        cost,
        _elapsed_ms(started),
    )
    log.succeeded(served)
    return served


def _forward_stream(
    plan: Plan,
    request: Request,
    model: ModelSpec,
    started: float,
    first_token_limit: float,
    progress: _StreamProgress,
) -> Iterator[StreamEvent]:
    """Yield the model's chunks; hold them back until the first content arrives (failover window).

    The read timeout is the task's first-token limit, so after the first token a gap between two
    chunks longer than that limit also ends the stream (with an error event, never silently).
    """
    timeout = max(min(model.timeout_seconds, plan.deadline - started), 0.05)
    first_token_deadline = started + min(first_token_limit, timeout)
    held: list[StreamEvent] = []
    chunks = stream_remote(
        model,
        request,
        api_key=provider_key(model) or "",
        timeout=timeout,
        first_token_timeout=min(first_token_limit, timeout),
    )
    try:
        for chunk in chunks:
            if chunk.usage is not None:
                progress.usage = chunk.usage
            delta = ""
            if chunk.choices:
                choice = chunk.choices[0]
                delta = choice.delta.content or "" if choice.delta else ""
                if choice.finish_reason:
                    progress.finished = True
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
                progress.first_token_ms = (time.perf_counter() - started) * 1000
                progress.parts.append(delta)
                yield from held
                held.clear()
    finally:
        chunks.close()  # type: ignore[attr-defined]
    if not progress.finished:
        raise CallFailure(CallOutcome.CONNECTION_ERROR, "stream ended before the model finished")
    if not progress.forwarded:
        raise CallFailure(CallOutcome.INVALID_OUTPUT, "empty response")


def _partial_usage(model: ModelSpec, request: Request, progress: _StreamProgress) -> dict[str, Any]:
    prompt_tokens = count_prompt_tokens(request.messages)
    completion_tokens = count_text_tokens("".join(progress.parts))
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "estimated": True,
        "cost": _cost(model, prompt_tokens, completion_tokens),
    }


def _stream_served(model: ModelSpec, request: Request, progress: _StreamProgress, started: float) -> Served:
    content = "".join(progress.parts)
    if progress.usage is not None:
        prompt_tokens = int(progress.usage.prompt_tokens or 0)
        completion_tokens = int(progress.usage.completion_tokens or 0)
        estimated = False
    else:
        prompt_tokens, completion_tokens, estimated = (
            count_prompt_tokens(request.messages),
            count_text_tokens(content),
            True,
        )
    return Served(
        model=model,
        completion=None,
        content=content,
        parsed=content,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        tokens_estimated=estimated,
        cost=_cost(model, prompt_tokens, completion_tokens),
        latency_ms=_elapsed_ms(started),
    )
