"""The model doctor: one tiny real request to each configured model, in the shape it gets in production.

For every enabled model in a router's pools or fallback list, and every task of that router it
serves, one request goes through the routing service to that model alone (``only_model``): the
task's own system prompt, a one-line test ticket, and for a triage subtask its parser, token budget
and temperature, so the request has exactly the parameters the model's capability profile gives a
real ticket. What comes back (answered? parsed? tokens, reasoning and cached tokens, cost, the
provider's own error message) is one row of the report. Probes are real calls: their ``ModelCall``
rows name no ticket, so ticket analytics leave them out, and their cost is printed.

Used by ``manage.py check_models`` and the admin's "Test selected models" action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from triage.models import CallOutcome, LLMModel, ModelCall, Router
from triage.pipeline.subtasks import SUBTASKS, subtask_messages
from triage.routing import RoutingError, route
from triage.routing.adapters import adapter_for
from triage.routing.config import snapshot_fresh
from triage.routing.service import UnknownRouter, models_clear_refusals

PROBE_SUBJECT = "Test ticket from check_models"
PROBE_BODY = "I reset my password but the login page still says it is wrong. Can you help?"
FREE_TEXT_PROBE_TOKENS = 64  # tasks with no parser (the support bot's): a short answer is enough

# the answer came back, whether or not it was usable
_ANSWERED = (CallOutcome.OK, CallOutcome.INVALID_OUTPUT, CallOutcome.TRUNCATED)


@dataclass
class ProbeRow:
    router: str
    task: str
    model: str
    provider: str
    in_pool: bool  # a pool model (a failure fails the check) or a fallback
    key_set: bool
    answered: bool = False
    parsed: bool | None = None  # None: the task has no parser
    latency_ms: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cost: Decimal = Decimal(0)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.answered and self.parsed is not False and not self.error


@dataclass(frozen=True)
class ProbeTarget:
    router: Router
    task_name: str
    model: LLMModel
    in_pool: bool


def probe_targets(
    *, router_name: str | None = None, model_ids: Iterable[int] | None = None
) -> list[ProbeTarget]:
    """Each (router, task, model) to probe: pool models of every task, and fallback models for every
    task they serve; only enabled routers and models. ``router_name`` unknown: UnknownRouter."""
    routers = Router.objects.filter(enabled=True).prefetch_related(
        "tasks__pool__model__provider", "fallbacks__model__provider"
    )
    if router_name is not None:
        routers = routers.filter(name=router_name)
        if not routers:
            raise UnknownRouter(f"No enabled router named {router_name!r}")
    wanted = set(model_ids) if model_ids is not None else None
    targets: list[ProbeTarget] = []
    for router in routers:
        seen: set[tuple[str, int]] = set()
        fallbacks = [entry.model for entry in router.fallbacks.all()]
        for task in router.tasks.all():
            pool = [(entry.model, True) for entry in task.pool.all()]
            for model, in_pool in [*pool, *((m, False) for m in fallbacks)]:
                if (task.name, model.pk) in seen or not model.is_usable:
                    continue
                if wanted is not None and model.pk not in wanted:
                    continue
                if not in_pool and not _serves(model, task.name):
                    continue
                seen.add((task.name, model.pk))
                targets.append(ProbeTarget(router, task.name, model, in_pool))
    return targets


def _serves(model: LLMModel, task_name: str) -> bool:
    spec = snapshot_fresh().models_by_id.get(model.pk)
    try:
        adapter = adapter_for(model.provider.kind)
    except KeyError:
        return False
    return spec is not None and adapter.serves(spec, task_name)


def probe(target: ProbeTarget) -> ProbeRow:
    """One tiny request to ``target.model`` as ``target.task_name`` of its router."""
    model, router = target.model, target.router
    row = ProbeRow(
        router=router.name,
        task=target.task_name,
        model=model.slug,
        provider=model.provider.name,
        in_pool=target.in_pool,
        key_set=model.provider.key_is_set(),
    )
    if not row.key_set:
        row.error = f"{model.provider.api_key_env} is not set"
        return row
    task = router.tasks.get(name=target.task_name)
    subtask = SUBTASKS.get(target.task_name)
    ticket = _ProbeTicket()
    messages = subtask_messages(system_prompt=task.system_prompt, router=router, ticket=ticket)  # type: ignore[arg-type]
    options: dict[str, Any] = {"max_tokens": FREE_TEXT_PROBE_TOKENS}
    if subtask is not None:
        options = {
            "validator": lambda text: subtask.parse(text, router),
            "json_mode": True,
            "max_tokens": subtask.max_tokens,
            "temperature": subtask.temperature,
        }
    try:
        result = route(router, messages, task=target.task_name, only_model=model.pk, **options)
    except RoutingError as error:
        attempt = error.attempts[-1] if error.attempts else None
        row.error = attempt.error if attempt is not None else str(error)
        if attempt is not None and attempt.call_id is not None:
            _read_call(row, attempt.call_id)
        if subtask is not None and row.answered:
            row.parsed = False
        return row
    row.answered, row.parsed = True, (True if subtask is not None else None)
    _read_call(row, result.attempts[-1].call_id)
    models_clear_refusals([model.pk])  # it answers requests of this shape now: stop skipping it
    return row


def _read_call(row: ProbeRow, call_id: int | None) -> None:
    """Tokens, cost, latency and outcome from the probe's own ``ModelCall`` row."""
    call = ModelCall.objects.filter(pk=call_id).first() if call_id is not None else None
    if call is None:
        return
    row.answered = row.answered or call.outcome in _ANSWERED
    row.latency_ms = call.latency_ms
    row.prompt_tokens, row.completion_tokens = call.prompt_tokens, call.completion_tokens
    row.reasoning_tokens, row.cached_tokens = call.reasoning_tokens, call.cached_tokens
    row.cost = call.cost


@dataclass
class _ProbeTicket:
    """The test ticket, shaped as ``subtask_messages`` reads a ticket."""

    subject: str = PROBE_SUBJECT
    body: str = PROBE_BODY
    customer_tier: str = "free"
    account_id: str = ""


def models_check(*, router_name: str | None = None, model_ids: Iterable[int] | None = None) -> list[ProbeRow]:
    """Probe every target (see :func:`probe_targets`), in order."""
    return [probe(target) for target in probe_targets(router_name=router_name, model_ids=model_ids)]


def check_failed(rows: Iterable[ProbeRow]) -> bool:
    """The check fails when a pool model failed (a fallback's failure is reported, not fatal)."""
    return any(row.in_pool and not row.ok for row in rows)


def probes_total_cost(rows: Iterable[ProbeRow]) -> Decimal:
    return sum((row.cost for row in rows), Decimal(0))


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


COLUMNS = (
    "router", "task", "model", "provider", "role", "key set?", "answered?", "parsed?",
    "latency", "tokens in/out", "reasoning", "cached", "cost", "error",
)  # fmt: skip


def probe_table(rows: list[ProbeRow]) -> list[list[str]]:
    """The report as text cells, a header first."""
    table = [list(COLUMNS)]
    for row in rows:
        table.append(
            [
                row.router,
                row.task,
                row.model,
                row.provider,
                "pool" if row.in_pool else "fallback",
                _yes_no(row.key_set),
                _yes_no(row.answered),
                _yes_no(row.parsed),
                f"{row.latency_ms} ms" if row.latency_ms is not None else "-",
                f"{row.prompt_tokens}/{row.completion_tokens}",
                str(row.reasoning_tokens),
                str(row.cached_tokens),
                f"${row.cost:.6f}",
                row.error[:160],
            ]
        )
    return table
