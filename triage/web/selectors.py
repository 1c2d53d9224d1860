"""Reads for the agent pages: the queue, one ticket, analytics. Queries are decided here, once.

Never writes, never calls a model. Page-shaped plain data so templates stay dumb.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Aggregate, Count, F, IntegerField, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from triage.models import (
    ApprovedReply,
    CallOutcome,
    Delivery,
    Feedback,
    LLMModel,
    ModelCall,
    Router,
    Ticket,
    TicketMessage,
    TriageStep,
)
from triage.pipeline.subtasks import CLASSIFY, REPLY, SUBTASKS, URGENCY, subtask_names
from triage.routing.pricing import call_cost
from triage.services.evaluation import QualityChart, cost_quality, wilson_interval
from triage.services.shadow import shadow_agreement

QUEUE_PAGE_SIZE = 50
SETTLED = (Ticket.Status.TRIAGED, Ticket.Status.NEEDS_ATTENTION, Ticket.Status.FAILED)
URGENCY_LABELS = {1: "low", 2: "minor", 3: "normal", 4: "high", 5: "critical"}
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
PROJECTED_TICKETS = 100_000
# Attempts on a model whose provider has no API key configured: skipped, never really tried.
NOT_TRIED = (CallOutcome.SKIPPED_UNCONFIGURED,)


def ticket_is_settled(ticket: Ticket) -> bool:
    return ticket.status in SETTLED


# --- queue -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    category: str = ""
    urgency_min: int | None = None
    q: str = ""
    attention: bool = False
    page: str = "1"

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> QueueFilters:
        status = query.get("status", "")
        urgency = query.get("urgency_min", "")
        return cls(
            status=status if status in Ticket.Status.values else "",
            category=query.get("category", "").strip()[:40],
            urgency_min=int(urgency) if urgency in {"1", "2", "3", "4", "5"} else None,
            q=query.get("q", "").strip()[:200],
            attention=query.get("attention") in {"1", "on", "true"},
            page=query.get("page", "1"),
        )

    def querystring(self, **changes: Any) -> str:
        """The filters as a query string (for pager links and the pushed URL), page dropped."""
        from urllib.parse import urlencode

        values = {
            "status": self.status,
            "category": self.category,
            "urgency_min": self.urgency_min or "",
            "q": self.q,
            "attention": "1" if self.attention else "",
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def tickets_filtered(filters: QueueFilters) -> QuerySet[Ticket]:
    tickets = Ticket.objects.all()
    if filters.status:
        tickets = tickets.filter(status=filters.status)
    if filters.category:
        tickets = tickets.filter(category=filters.category)
    if filters.urgency_min is not None:
        tickets = tickets.filter(urgency_score__gte=filters.urgency_min)
    if filters.attention:
        tickets = tickets.filter(status__in=[Ticket.Status.NEEDS_ATTENTION, Ticket.Status.FAILED])
    if filters.q:
        text = Q(subject__icontains=filters.q)
        if filters.q.lstrip("#").isdigit():
            text |= Q(pk=int(filters.q.lstrip("#")))
        tickets = tickets.filter(text)
    return tickets


def _current_steps_prefetch() -> Prefetch[Any]:
    steps = TriageStep.objects.filter(is_current=True).only(
        "id", "ticket_id", "task_name", "status", "served_by", "degraded"
    )
    return Prefetch("steps", queryset=steps, to_attr="current_steps")


def tickets_for_queue(filters: QueueFilters) -> Page[Ticket]:
    """One page of tickets, newest first, each with ``current_steps`` (four queries in all)."""
    tickets = (
        tickets_filtered(filters)
        .only(
            "id",
            "subject",
            "status",
            "category",
            "urgency_score",
            "escalated",
            "customer_tier",
            "language",
            "created_at",
            "attention_reason",
            "router_id",
        )  # fmt: skip
        .order_by("-created_at", "-id")
        .prefetch_related(_current_steps_prefetch())
    )
    page = Paginator(tickets, QUEUE_PAGE_SIZE).get_page(filters.page)
    page.object_list = list(page.object_list)
    for ticket in page.object_list:
        ticket.models_served = served_models(ticket)  # type: ignore[attr-defined]
    return page


def ticket_for_row(ticket_id: int) -> Ticket:
    ticket = Ticket.objects.prefetch_related(_current_steps_prefetch()).get(pk=ticket_id)
    ticket.models_served = served_models(ticket)  # type: ignore[attr-defined]
    return ticket


def served_models(ticket: Ticket) -> list[str]:
    """The distinct models that served the ticket's current steps, in step order."""
    order = {name: i for i, name in enumerate(subtask_names())}
    steps = sorted(getattr(ticket, "current_steps", []), key=lambda s: order.get(s.task_name, len(order)))
    seen: list[str] = []
    for step in steps:
        if step.served_by and step.served_by not in seen:
            seen.append(step.served_by)
    return seen


def queue_categories() -> list[str]:
    """Every category any router knows, for the filter's choices."""
    names: set[str] = set()
    for categories in Router.objects.values_list("categories", flat=True):
        names.update(c for c in categories or [] if isinstance(c, str))
    return sorted(names)


# --- one ticket ------------------------------------------------------------------------------
@dataclass
class StepCard:
    name: str
    label: str
    partial: str  # the template that shows this subtask's result
    skipped_label: str
    step: TriageStep | None
    thumbs: str = ""  # the latest thumb: "up", "down" or ""
    attempt_chain: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed_over(self) -> bool:
        return len(self.attempt_chain) > 1 or any(a.get("outcome") != "ok" for a in self.attempt_chain)

    @property
    def masked(self) -> int:
        """Customer data items replaced by placeholders before the serving model saw them."""
        served = [a for a in self.attempt_chain if a.get("outcome") == "ok"]
        return int((served[-1] if served else {}).get("masked") or 0)

    @property
    def kept_local(self) -> bool:
        return any(a.get("outcome") == "skipped_sensitive" for a in self.attempt_chain)

    @property
    def result(self) -> dict[str, Any]:
        return self.step.result if self.step and isinstance(self.step.result, dict) else {}

    @property
    def total_tokens(self) -> int:
        return (self.step.prompt_tokens + self.step.completion_tokens) if self.step else 0

    @property
    def working(self) -> bool:
        return self.step is None or self.step.status in (TriageStep.Status.PENDING, TriageStep.Status.RUNNING)


@dataclass
class TicketPage:
    ticket: Ticket
    cards: list[StepCard]
    settled: bool
    approved: ApprovedReply | None
    total_cost: Decimal
    priciest_model: LLMModel | None
    priciest_cost: Decimal | None
    categories: list[str]
    corrections: list[Feedback]
    # from connectors: the email thread (first message included) and what was sent out about it
    messages: list[TicketMessage] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    def card(self, name: str) -> StepCard:
        return next(c for c in self.cards if c.name == name)

    @property
    def reply_card(self) -> StepCard:
        return self.card(REPLY)

    @property
    def model_category(self) -> str:
        return str(self.card(CLASSIFY).result.get("category") or "")

    @property
    def model_urgency(self) -> int | None:
        score = self.card(URGENCY).result.get("score")
        return int(score) if isinstance(score, int) else None


def priciest_model() -> LLMModel | None:
    """The enabled catalog model with the highest price per token (input plus output)."""
    return (
        LLMModel.objects.filter(enabled=True)
        .annotate(total_price=F("input_price_per_m") + F("output_price_per_m"))
        .order_by("-total_price", "slug")
        .first()
    )


def cheapest_paid_model() -> LLMModel | None:
    """The cheapest catalog model that charges at all (the free local tier would make this trivial)."""
    return (
        LLMModel.objects.filter(enabled=True)
        .annotate(total_price=F("input_price_per_m") + F("output_price_per_m"))
        .filter(total_price__gt=0)
        .order_by("total_price", "slug")
        .first()
    )


def priced_on(model: LLMModel | None, steps: Iterable[Any]) -> Decimal | None:
    """What the steps' tokens would have cost on ``model`` (steps: rows or dicts with token counts)."""
    if model is None:
        return None
    total = Decimal(0)
    for step in steps:
        prompt, completion = (
            (step["prompt_tokens"], step["completion_tokens"])
            if isinstance(step, dict)
            else (step.prompt_tokens, step.completion_tokens)
        )
        total += call_cost(
            input_price_per_m=model.input_price_per_m,
            output_price_per_m=model.output_price_per_m,
            prompt_tokens=prompt,
            completion_tokens=completion,
        )
    return total


def _attempt_view(attempt: Any) -> dict[str, Any]:
    attempt = dict(attempt) if isinstance(attempt, dict) else {}
    outcome = str(attempt.get("outcome", ""))
    attempt["label"] = CallOutcome(outcome).label if outcome in CallOutcome.values else outcome
    return attempt


def ticket_page(ticket_id: int) -> TicketPage:
    """Everything the ticket page shows, in five queries (ticket, steps, feedback, calls, catalog)."""
    ticket = Ticket.objects.select_related("router", "approved_reply", "connector").get(pk=ticket_id)
    steps = {s.task_name: s for s in ticket.steps.filter(is_current=True)}
    feedback = list(ticket.feedback.select_related("user").order_by("-created_at", "-id")[:200])
    thumbs: dict[int, str] = {}
    for item in reversed(feedback):  # oldest first, so the newest thumb wins
        if item.step_id and item.kind in (Feedback.Kind.THUMBS_UP, Feedback.Kind.THUMBS_DOWN):
            thumbs[item.step_id] = "up" if item.kind == Feedback.Kind.THUMBS_UP else "down"
    cards = []
    for subtask in SUBTASKS.values():
        step = steps.get(subtask.name)
        cards.append(
            StepCard(
                name=subtask.name,
                label=subtask.label,
                partial=subtask.partial,
                skipped_label=subtask.skipped_label,
                step=step,
                thumbs=thumbs.get(step.pk, "") if step else "",
                attempt_chain=[_attempt_view(a) for a in step.attempts or []] if step else [],
            )
        )
    # every billed call of the ticket, re-runs and failed attempts included
    spent = ticket.calls.aggregate(total=Sum("cost"))["total"] or Decimal(0)
    priciest = priciest_model()
    try:
        approved: ApprovedReply | None = ticket.approved_reply
    except ApprovedReply.DoesNotExist:
        approved = None
    return TicketPage(
        ticket=ticket,
        cards=cards,
        settled=ticket_is_settled(ticket),
        approved=approved,
        total_cost=spent,
        priciest_model=priciest,
        priciest_cost=priced_on(priciest, [s for s in steps.values() if s.status == TriageStep.Status.DONE]),
        categories=list(ticket.router.categories or []),
        corrections=[f for f in feedback if f.kind == Feedback.Kind.CORRECTION],
        messages=list(ticket.messages.all()) if ticket.connector_id else [],
        deliveries=list(ticket.deliveries.select_related("endpoint", "connector").order_by("id")[:50]),
    )


# --- analytics -------------------------------------------------------------------------------
@dataclass
class TaskStats:
    task: str
    steps: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    fallback_rate: float = 0.0
    failure_rate: float = 0.0
    model_mix: list[tuple[str, int, float]] = field(default_factory=list)
    cost: Decimal = Decimal(0)


@dataclass
class Analytics:
    router: Router | None
    period: str
    since: Any
    tickets: int
    cost_total: Decimal
    cost_per_ticket: Decimal | None
    cost_by_task: list[tuple[str, Decimal]]
    cost_by_model: list[tuple[str, Decimal, int, float]]  # model, cost, calls, share of calls failed
    # calls whose worker died in flight: in the cost at the most they could have cost
    possibly_billed: tuple[int, Decimal]
    # requests the provider refused (or skipped as refused before): a model profile to fix
    refused_requests: int
    models_refusing: list[str]
    tasks: list[TaskStats]
    corrections: list[dict[str, Any]]
    savings: list[dict[str, Any]]
    cost_series: dict[str, list[Any]]
    mix_series: dict[str, Any]
    # shadow comparisons per (task, primary model, shadow model): billed apart, not in the costs above
    shadow: list[dict[str, Any]] = field(default_factory=list)
    # cost against quality per labeled task of the chosen router (services.evaluation.cost_quality)
    quality: list[QualityChart] = field(default_factory=list)
    quality_series: dict[str, Any] = field(default_factory=dict)


def analytics_for(*, router: Router | None, period: str) -> Analytics:
    """Ticket analytics of one router over a period. Playground calls (no ticket) never count."""
    since = timezone.now() - PERIODS.get(period, PERIODS["7d"])
    tickets = Ticket.objects.filter(created_at__gte=since)
    calls = ModelCall.objects.filter(ticket__isnull=False, started_at__gte=since)
    steps = TriageStep.objects.filter(ticket__created_at__gte=since, is_current=True)
    feedback = Feedback.objects.filter(ticket__created_at__gte=since, kind=Feedback.Kind.CORRECTION)
    if router is not None:
        tickets = tickets.filter(router=router)
        calls = calls.filter(ticket__router=router)
        steps = steps.filter(ticket__router=router)
        feedback = feedback.filter(ticket__router=router)

    ticket_count = tickets.count()
    cost_total, cost_by_task, cost_by_model = _call_costs(calls)
    interrupted = calls.filter(outcome=CallOutcome.INTERRUPTED).aggregate(n=Count("id"), cost=Sum("cost"))
    refused = calls.filter(outcome__in=[CallOutcome.REQUEST_REJECTED, CallOutcome.SKIPPED_REJECTED]).count()
    task_stats, served_counts, done_tokens = _task_stats(steps)
    # tickets corrected, not correction events: an answer corrected twice (or back again) counts once
    corrections_by = {
        (row["task_name"], row["model_slug"]): row["answers"]
        for row in feedback.values("task_name", "model_slug").annotate(answers=Count("ticket", distinct=True))
    }
    corrections = [
        {
            "task": task,
            "model": model,
            "served": served,
            "corrected": corrections_by.get((task, model), 0),
            "rate": corrections_by.get((task, model), 0) / served if served else 0.0,
            # 95% Wilson interval of the rate: a handful of tickets says little
            "interval": wilson_interval(corrections_by.get((task, model), 0), served),
        }
        for (task, model), served in sorted(served_counts.items())
        if task in (CLASSIFY, URGENCY)
    ]

    savings = savings_table(done_tokens, ticket_count)
    return Analytics(
        router=router,
        period=period if period in PERIODS else "7d",
        since=since,
        tickets=ticket_count,
        cost_total=cost_total,
        cost_per_ticket=(cost_total / ticket_count) if ticket_count else None,
        cost_by_task=cost_by_task,
        cost_by_model=cost_by_model,
        possibly_billed=(interrupted["n"], interrupted["cost"] or Decimal(0)),
        refused_requests=refused,
        models_refusing=list(
            LLMModel.objects.filter(rejected_at__isnull=False).values_list("slug", flat=True)
        ),
        tasks=task_stats,
        corrections=corrections,
        savings=savings,
        cost_series=_cost_series(calls, period),
        mix_series=_mix_series(task_stats),
        shadow=shadow_agreement(router=router, since=since),
        **_quality(router),
    )


def _quality(router: Router | None) -> dict[str, Any]:
    """The cost-vs-quality charts of one router (all labeled tickets, not just the period's): each
    pool model alone, the cascade across thresholds, as configured and as recommended."""
    if router is None:
        return {}
    charts = cost_quality(router)
    return {
        "quality": charts,
        "quality_series": {
            "tasks": [
                {"task": c.task, "rule": c.rule, "points": c.points, "curve": c.curve}
                for c in charts
                if c.points
            ]
        },
    }


def _call_costs(
    calls: QuerySet[ModelCall],
) -> tuple[Decimal, list[tuple[str, Decimal]], list[tuple[str, Decimal, int, float]]]:
    """Cost in total, by task and by model (with the share of each model's calls that failed), from
    one grouped query. Calls skipped for a missing API key cost nothing and don't count as calls."""
    by_task: dict[str, Decimal] = defaultdict(Decimal)
    by_model: dict[str, list[Any]] = {}
    grouped = calls.values("task_name", "model_slug", "outcome").annotate(total=Sum("cost"), n=Count("id"))
    for row in grouped:
        cost = row["total"] or Decimal(0)
        by_task[row["task_name"] or "(unclassified)"] += cost
        if row["outcome"] in NOT_TRIED:
            continue
        model = by_model.setdefault(row["model_slug"], [Decimal(0), 0, 0])
        model[0] += cost
        model[1] += row["n"]
        model[2] += row["n"] if row["outcome"] != CallOutcome.OK else 0
    total = sum(by_task.values(), Decimal(0))
    tasks = sorted(by_task.items(), key=lambda item: (-item[1], item[0]))
    models = sorted(
        ((slug, cost, n, failed / n if n else 0.0) for slug, (cost, n, failed) in by_model.items()),
        key=lambda item: (-item[1], item[0]),
    )
    return total, tasks, models


class _PercentileDisc(Aggregate):
    """PostgreSQL's ``percentile_disc(f) WITHIN GROUP (ORDER BY x)``: an exact percentile in SQL."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = IntegerField()

    def __init__(self, expression: str, fraction: float) -> None:
        super().__init__(expression, fraction=fraction)


def _latency_percentiles(steps: QuerySet[TriageStep]) -> dict[str, tuple[int | None, int | None]]:
    """p50 and p95 of done steps' latency per task, in one query (sorted in Python off PostgreSQL)."""
    done = steps.filter(status=TriageStep.Status.DONE, latency_ms__isnull=False)
    if connection.vendor == "postgresql":
        rows = done.values("task_name").annotate(
            p50=_PercentileDisc("latency_ms", 0.5), p95=_PercentileDisc("latency_ms", 0.95)
        )
        return {row["task_name"]: (row["p50"], row["p95"]) for row in rows}
    by_task: dict[str, list[int]] = defaultdict(list)
    for name, latency in done.values_list("task_name", "latency_ms").iterator(chunk_size=20_000):
        if latency is not None:
            by_task[name].append(latency)
    found: dict[str, tuple[int | None, int | None]] = {}
    for name, values in by_task.items():
        values.sort()
        found[name] = (values[_rank(len(values), 50)], values[_rank(len(values), 95)])
    return found


def _task_stats(
    steps: QuerySet[TriageStep],
) -> tuple[list[TaskStats], Counter[tuple[str, str]], dict[str, Any]]:
    """Per task: steps, cost, p50/p95 latency, fallback and failure rates, model mix; plus the
    tokens and cost of all done steps. Aggregated in SQL: three or four queries for any volume."""
    by_status: dict[str, Counter[str]] = defaultdict(Counter)
    costs: dict[str, Decimal] = defaultdict(Decimal)
    served_counts: Counter[tuple[str, str]] = Counter()
    done_tokens: dict[str, Any] = {"prompt_tokens": 0, "completion_tokens": 0, "cost": Decimal(0)}
    grouped = (
        steps.exclude(status__in=[TriageStep.Status.SKIPPED, TriageStep.Status.PENDING])
        .values("task_name", "status", "served_by")
        .annotate(
            n=Count("id"), cost=Sum("cost"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens")
        )
    )
    for row in grouped:
        name, n, cost = row["task_name"], row["n"], row["cost"] or Decimal(0)
        by_status[name][row["status"]] += n
        costs[name] += cost
        if row["status"] == TriageStep.Status.DONE:
            if row["served_by"]:
                served_counts[(name, row["served_by"])] += n
            done_tokens["prompt_tokens"] += row["prompt"] or 0
            done_tokens["completion_tokens"] += row["completion"] or 0
            done_tokens["cost"] += cost
    # only steps with two attempts or more can have fallen back: read just those chains
    fell_back: Counter[str] = Counter(
        task
        for task, attempts in steps.filter(
            status__in=[TriageStep.Status.DONE, TriageStep.Status.FAILED], attempts__1__isnull=False
        ).values_list("task_name", "attempts")
        if _fell_back(attempts)
    )
    percentiles = _latency_percentiles(steps)
    task_stats = []
    for name in subtask_names():
        statuses = by_status.get(name, Counter())
        stats = TaskStats(task=name, steps=sum(statuses.values()), cost=costs.get(name, Decimal(0)))
        tried = stats.steps - statuses[TriageStep.Status.RUNNING]
        if tried:
            stats.fallback_rate = fell_back[name] / tried
            stats.failure_rate = statuses[TriageStep.Status.FAILED] / tried
        stats.p50_ms, stats.p95_ms = percentiles.get(name, (None, None))
        served = sum(n for (task, _), n in served_counts.items() if task == name)
        stats.model_mix = sorted(
            ((model, n, n / served) for (task, model), n in served_counts.items() if task == name),
            key=lambda item: (-item[1], item[0]),
        )
        task_stats.append(stats)
    return task_stats, served_counts, done_tokens


def _rank(count: int, pct: float) -> int:
    """The index of the ``pct`` percentile among ``count`` sorted values (nearest rank)."""
    return min(count - 1, max(0, round(pct / 100 * (count - 1))))


def _fell_back(attempts: Any) -> bool:
    """Served by another model than the first one really tried (a missing API key is not a try)."""
    tried = [a for a in attempts or [] if isinstance(a, dict) and a.get("outcome") not in NOT_TRIED]
    return len(tried) > 1


def savings_table(done: dict[str, Any], ticket_count: int) -> list[dict[str, Any]]:
    """The article's comparison from real usage: the same tokens priced three ways, per 100k tickets.

    ``done`` holds the summed ``prompt_tokens``, ``completion_tokens`` and ``cost`` of the done steps.
    """
    cheapest, priciest = cheapest_paid_model(), priciest_model()
    actual = Decimal(done["cost"])
    done_steps = [done]
    rows: list[dict[str, Any]] = []
    scenarios = [
        (f"Everything on {cheapest.slug}" if cheapest else "Everything on the cheapest model",
         priced_on(cheapest, done_steps)),
        ("Router (actual)", actual),
        (f"Everything on {priciest.slug}" if priciest else "Everything on the most expensive model",
         priced_on(priciest, done_steps)),
    ]  # fmt: skip
    baseline = scenarios[2][1]
    for label, cost in scenarios:
        if cost is None:
            continue
        per_ticket = cost / ticket_count if ticket_count else None
        saved = (1 - cost / baseline) * 100 if baseline else None
        rows.append(
            {
                "label": label,
                "cost": cost,
                "per_ticket": per_ticket,
                "projected": per_ticket * PROJECTED_TICKETS if per_ticket is not None else None,
                "saved_pct": saved,
            }
        )
    return rows


def _cost_series(calls: QuerySet[ModelCall], period: str) -> dict[str, list[Any]]:
    trunc = TruncHour if period == "24h" else TruncDay
    rows = (
        calls.annotate(bucket=trunc("started_at"))
        .values("bucket")
        .annotate(total=Sum("cost"))
        .order_by("bucket")
    )
    fmt = "%H:%M" if period == "24h" else "%b %d"
    return {
        "labels": [row["bucket"].strftime(fmt) for row in rows if row["bucket"] is not None],
        "values": [float(row["total"] or 0) for row in rows if row["bucket"] is not None],
    }


def _mix_series(tasks: list[TaskStats]) -> dict[str, Any]:
    models = sorted({model for t in tasks for model, _, _ in t.model_mix})
    return {
        "labels": [t.task for t in tasks],
        "datasets": [
            {"label": model, "data": [dict((m, n) for m, n, _ in t.model_mix).get(model, 0) for t in tasks]}
            for model in models
        ],
    }


def routers_for_pages() -> list[Router]:
    return list(Router.objects.only("id", "name", "categories").order_by("name"))
