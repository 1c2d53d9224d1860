"""Offline evaluation of a router task's configurations against labels, and cascade calibration.

Labeled tickets (agents' labels of the router, ``services.labels``; plus the shipped labeled set's
held-out split with ``include_shipped``) are replayed through candidate configurations of a task:

* each pool model alone;
* the cascade (``RouterTask.cascade_enabled``) at several confidence thresholds, with the local
  model's disagreement on and off: the pool in the router's order, each answer escalated to the
  next pool model while its stated confidence is below the threshold (or, when it checks, the
  local model disagrees), the last pool model's answer always kept, as ``routing.service`` does.

Replays read stored answers: a ticket's steps for the task (a cascaded step's ``answers``, else its
``result`` and ``served_by``) and their ``ModelCall`` rows (cost, latency). A cascade at threshold t
is replayable from the first model's stored answer and confidence and, when it would escalate, the
next model's stored answer. Answers that aren't stored can be asked live (``Replay.fetch_live``,
through ``route(..., only_model=...)``: billed, ticket-less call rows), after
``Replay.live_estimate`` prices them from token counts and catalog prices.

Labels: ``classify_ticket`` is right when the category is the label; ``urgency_detection`` when the
score is within 1 of it. The text tasks (``draft_customer_reply``, ``escalate_complex_issue``) are
*judged*: an answer is right when agents accepted it (``services.labels.text_verdicts``: approved as
drafted or nearly, or a thumb up), so only answers agents were shown count, and nothing can be asked
live (no agent would judge it). A tiered pool (entries bounded by urgency) replays each ticket through
the entries serving its urgency, as the router did.

Per candidate: accuracy with a 95% Wilson interval, the share of tickets that reached a later
(stronger) pool model, cost per 1,000 tickets, p95 latency and n (how many tickets were
replayable). Loading is a few queries whatever the number of tickets.

Calibration (``calibrate``) picks the cheapest cascade threshold meeting a target, and
``calibration_save`` writes it to ``RouterTask.calibration`` (the admin applies it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from triage.models import CallOutcome, LLMModel, ModelCall, Router, RouterTask, Ticket, TriageStep
from triage.pipeline.subtasks import (
    BRIEF,
    CLASSIFY,
    REPLY,
    SUBTASKS,
    URGENCY,
    answers_disagree,
    local_opinion,
    subtask_messages,
)
from triage.routing.pricing import call_cost

DEFAULT_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
Z_95 = 1.959963984540054
QUERY_CHUNK = 1000  # ids per IN (...) list: a few queries for thousands of tickets
LOCAL_DOUBT = "disagreed with local"  # how routing.service words a local disagreement


class EvaluationError(ValueError):
    """The evaluation can't run as asked (unknown task, no pool, a bad target)."""


# --- what is right --------------------------------------------------------------------------------
def _category(result: Any) -> Any:
    value = result.get("category") if isinstance(result, dict) else None
    return value if isinstance(value, str) and value else None


def _score(result: Any) -> Any:
    value = result.get("score") if isinstance(result, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(key: str) -> Callable[[Any], Any]:
    def value(result: Any) -> Any:
        text = result.get(key) if isinstance(result, dict) else None
        return text if isinstance(text, str) and text.strip() else None

    return value


@dataclass(frozen=True)
class LabeledTask:
    value: Callable[[Any], Any]  # the labeled value in a parsed result (None: no usable answer)
    label_field: str  # the AgentLabel / LabeledTicket field holding the label
    correct: Callable[[Any, Any], bool]  # (answer value, label)
    rule: str
    judged: bool = False  # the label is agents' verdict per model (text tasks), not a value


def _judged(value: Any, label: Any) -> bool:  # judged tasks are scored by Replay.right
    raise TypeError("a judged task has no value to compare")


JUDGED_RULE = "accepted by agents (draft sent as written or nearly, or a thumb up)"


LABELED_TASKS: dict[str, LabeledTask] = {
    CLASSIFY: LabeledTask(_category, "category", lambda value, label: value == label, "category = label"),
    URGENCY: LabeledTask(
        _score, "urgency", lambda value, label: abs(int(value) - int(label)) <= 1, "score within ±1"
    ),
    REPLY: LabeledTask(_text("reply"), "verdicts", _judged, JUDGED_RULE, judged=True),
    BRIEF: LabeledTask(_text("summary"), "verdicts", _judged, JUDGED_RULE, judged=True),
}


def wilson_interval(correct: int, n: int, z: float = Z_95) -> tuple[float | None, float | None]:
    """The Wilson score interval of a proportion (95% by default); (None, None) with no data."""
    if n <= 0:
        return None, None
    p = min(max(correct, 0), n) / n  # a count past n (corrections of older steps) is capped
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def percentile(values: Sequence[int], pct: float) -> int | None:
    """Nearest-rank percentile, as the analytics page computes it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


# --- replay data ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    key: str  # "ticket:<id>" or "shipped:<id>"
    ticket_id: int | None  # the stored ticket whose answers it replays (None: none stored)
    subject: str
    body: str
    customer_tier: str
    label: Any  # a judged task's: {model slug: accepted}
    source: str  # correction, confirmed, shipped or verdict
    urgency: int | None = None  # the ticket's (tiered pools); None: every pool entry serves it


@dataclass
class Answer:
    """One model's answer to one example, as stored (or asked live)."""

    model: str
    result: dict[str, Any]
    value: Any
    confidence: float | None
    cost: Decimal
    cost_estimated: bool
    latency_ms: int | None
    doubt: str = ""  # the doubt recorded when it was served in a cascade
    live: bool = False


@dataclass
class CandidateResult:
    key: str  # what --candidates names: a model slug, or "cascade@0.70" / "cascade@0.70+local"
    label: str
    kind: str  # "single" | "cascade"
    models: list[str]
    threshold: float | None
    local_disagreement: bool
    configured: bool  # the task's cascade as configured (or its first model alone without a cascade)
    n: int
    correct: int
    accuracy: float | None
    low: float | None
    high: float | None
    strong_share: float | None
    cost_per_1000: float | None
    p95_latency_ms: int | None
    estimated_costs: int  # replayed tickets whose cost includes an estimate

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Evaluation:
    router: str
    task: str
    rule: str
    examples: int
    sources: dict[str, int]
    pool: list[str]
    candidates: list[CandidateResult]
    missing_answers: int  # answers a full replay would need that aren't stored
    live_answers: int = 0
    live_failures: int = 0
    calibration: dict[str, Any] | None = None
    judged: bool = False  # scored on agents' verdicts: only answers they saw count

    def candidate(self, key: str) -> CandidateResult | None:
        return next((c for c in self.candidates if c.key == key), None)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["candidates"] = [c.as_dict() for c in self.candidates]
        return data


def cascade_key(threshold: float, local: bool) -> str:
    return f"cascade@{threshold:.2f}{'+local' if local else ''}"


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (ArithmeticError, ValueError):
        return None
    return number if number.is_finite() and number >= 0 else None


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), QUERY_CHUNK):
        yield ids[start : start + QUERY_CHUNK]


class Replay:
    """A task's labeled examples with every stored answer of its pool models, ready to replay."""

    def __init__(
        self,
        *,
        router: Router,
        task: RouterTask,
        pool: list[LLMModel],
        examples: list[Example],
        use_local_model: bool,
        bounds: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        self.router = router
        self.task = task
        self.pool = pool
        self.bounds = bounds or {}  # slug -> the urgencies its pool entry serves (tiered pools)
        self.examples = examples
        self.labeled = LABELED_TASKS[task.name]
        self.subtask = SUBTASKS[task.name]
        self.use_local_model = use_local_model
        self.answers: dict[str, dict[str, Answer]] = {e.key: {} for e in examples}
        self.live_answers = 0
        self.live_failures = 0
        self._local: dict[str, dict[str, Any] | None] = {}

    # --- loading ------------------------------------------------------------------------------
    def load_stored(self) -> None:
        """Every done step of the task on the examples' tickets, and their served calls: one query
        each per thousand tickets. The current step's answers come first; older steps fill in."""
        by_ticket: dict[int, list[str]] = {}
        for example in self.examples:
            if example.ticket_id is not None:
                by_ticket.setdefault(example.ticket_id, []).append(example.key)
        ids = sorted(by_ticket)
        for chunk in _chunks(ids):
            steps: list[dict[str, Any]] = [
                dict(row)
                for row in TriageStep.objects.filter(
                    ticket_id__in=chunk, task_name=self.task.name, status=TriageStep.Status.DONE
                )
                .order_by("ticket_id", "-is_current", "-id")
                .values(
                    "id", "ticket_id", "result", "served_by", "answers", "latency_ms", "cost", "prompt_tokens"
                )
            ]
            calls: dict[tuple[int, str], tuple[Decimal, int]] = {}
            rows = ModelCall.objects.filter(
                ticket_id__in=chunk, task_name=self.task.name, outcome=CallOutcome.OK, step__isnull=False
            ).values_list("step_id", "model_slug", "cost", "latency_ms")
            for step_id, slug, cost, latency in rows:
                calls.setdefault((step_id, slug), (cost, latency))
            for step in steps:
                for key in by_ticket.get(step["ticket_id"], []):
                    self._add_step(key, step, calls)

    def _add_step(
        self, key: str, step: dict[str, Any], calls: dict[tuple[int, str], tuple[Decimal, int]]
    ) -> None:
        found = self.answers[key]
        entries = step["answers"] if isinstance(step["answers"], list) else []
        entries = [e for e in entries if isinstance(e, dict) and isinstance(e.get("model"), str)]
        if not entries and step["served_by"]:
            entries = [
                {
                    "model": step["served_by"],
                    "result": step["result"],
                    "cost": step["cost"],
                    "whole_step": True,
                }
            ]
        for entry in entries:
            slug = entry["model"]
            result = entry.get("result")
            value = self.labeled.value(result)
            if slug in found or value is None:
                continue
            call = calls.get((step["id"], slug))
            cost, latency, estimated = self._cost(slug, entry, call, step)
            confidence = _confidence(entry.get("confidence"))
            if confidence is None:
                confidence = _confidence(result.get("confidence") if isinstance(result, dict) else None)
            found[slug] = Answer(
                model=slug,
                result=result if isinstance(result, dict) else {},
                value=value,
                confidence=confidence,
                cost=cost,
                cost_estimated=estimated,
                latency_ms=latency,
                doubt=str(entry.get("doubt") or ""),
            )

    def _cost(
        self, slug: str, entry: dict[str, Any], call: tuple[Decimal, int] | None, step: dict[str, Any]
    ) -> tuple[Decimal, int | None, bool]:
        """The answer's cost and latency: its call row's, else what the step recorded, else an estimate."""
        if call is not None:
            return Decimal(call[0]), int(call[1]), False
        latency = step["latency_ms"] if entry.get("whole_step") else None
        recorded = _decimal(entry.get("cost"))
        if recorded is not None:
            return recorded, latency, False
        return self._estimate(slug, step.get("prompt_tokens") or None), latency, True

    def _estimate(self, slug: str, prompt_tokens: int | None) -> Decimal:
        model = next((m for m in self.pool if m.slug == slug), None)
        if model is None:
            return Decimal(0)
        return call_cost(
            input_price_per_m=model.input_price_per_m,
            output_price_per_m=model.output_price_per_m,
            prompt_tokens=prompt_tokens or self.task.expected_input_tokens,
            completion_tokens=self.task.expected_output_tokens,
        )

    @property
    def local_check(self) -> bool:
        """Whether the task's cascade compares answers with the local model (as configured and as
        the subtask can: text tasks have no local answer to compare with)."""
        return self.task.cascade_on_local_disagreement and self.subtask.disagreement is not None

    def chain(self, example: Example) -> list[str]:
        """The pool models serving the example's urgency, in the router's order."""
        return [m.slug for m in self.pool if self._serves(m.slug, example.urgency)]

    def _serves(self, slug: str, urgency: int | None) -> bool:
        low, high = self.bounds.get(slug, (1, 5))
        return urgency is None or low <= urgency <= high

    def right(self, example: Example, answer: Answer) -> bool | None:
        """Whether the answer is right by the example's label; None when agents never judged it."""
        if self.labeled.judged:
            verdict = example.label.get(answer.model) if isinstance(example.label, dict) else None
            return verdict if isinstance(verdict, bool) else None
        return self.labeled.correct(answer.value, example.label)

    # --- live answers -------------------------------------------------------------------------
    def missing(self) -> list[tuple[Example, LLMModel]]:
        """The (example, pool model) answers a full replay needs that aren't stored (none for a
        judged task: only agents judge its answers, so a live one could not be scored)."""
        if self.labeled.judged:
            return []
        return [
            (e, m)
            for e in self.examples
            for m in self.pool
            if m.slug not in self.answers[e.key] and self._serves(m.slug, e.urgency)
        ]

    def messages(self, example: Example) -> list[dict[str, str]]:
        ticket = Ticket(subject=example.subject, body=example.body, customer_tier=example.customer_tier)
        return subtask_messages(system_prompt=self.task.system_prompt, router=self.router, ticket=ticket)

    def live_estimate(self, missing: Sequence[tuple[Example, LLMModel]]) -> Decimal:
        """What asking the missing answers would cost: the prompt's tokens counted, the task's
        expected answer tokens, at catalog prices."""
        from triage.routing.tokens import count_prompt_tokens

        prompts: dict[str, int] = {}
        total = Decimal(0)
        for example, model in missing:
            if example.key not in prompts:
                prompts[example.key] = count_prompt_tokens(self.messages(example))
            total += call_cost(
                input_price_per_m=model.input_price_per_m,
                output_price_per_m=model.output_price_per_m,
                prompt_tokens=prompts[example.key],
                completion_tokens=self.task.expected_output_tokens,
            )
        return total

    def fetch_live(
        self,
        missing: Sequence[tuple[Example, LLMModel]],
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Ask each missing answer of its model alone (billed; the call rows name no ticket, so
        ticket analytics leave them out). Returns how many answered."""
        from triage.routing import RoutingError, route

        router, subtask = self.router, self.subtask
        answered = 0
        for done, (example, model) in enumerate(missing, start=1):
            try:
                result = route(
                    router,
                    self.messages(example),
                    task=self.task.name,
                    validator=lambda text: subtask.parse(text, router),
                    json_mode=True,
                    max_tokens=subtask.max_tokens,
                    temperature=subtask.temperature,
                    only_model=model.pk,
                )
            except RoutingError:
                self.live_failures += 1
            else:
                value = self.labeled.value(result.parsed)
                if value is None:
                    self.live_failures += 1
                else:
                    parsed = result.parsed if isinstance(result.parsed, dict) else {}
                    self.answers[example.key][model.slug] = Answer(
                        model=model.slug,
                        result=parsed,
                        value=value,
                        confidence=_confidence(parsed.get("confidence")),
                        cost=result.cost,
                        cost_estimated=False,
                        latency_ms=result.latency_ms,
                        live=True,
                    )
                    answered += 1
            if progress is not None:
                progress(done, len(missing))
        self.live_answers += answered
        return answered

    # --- the local model's opinion ------------------------------------------------------------
    def _local_opinion(self, example: Example) -> dict[str, Any] | None:
        if example.key not in self._local:
            self._local[example.key] = local_opinion(self.subtask, self.messages(example), self.router)
        return self._local[example.key]

    def local_disagrees(self, example: Example, answer: Answer) -> bool:
        """As the cascade decides it: the subtask's comparison with the local model's answer (in
        process, $0). Without the local model (pages), what the stored cascade recorded."""
        if not self.use_local_model:
            return answer.doubt.startswith(LOCAL_DOUBT)
        opinion = self._local_opinion(example)
        return bool(answers_disagree(self.subtask, answer.result, opinion, self.router))

    # --- candidates ---------------------------------------------------------------------------
    def single(self, model: LLMModel) -> CandidateResult:
        first = self.pool[0].slug if self.pool else ""
        outcomes = []
        for example in self.examples:
            answer = self.answers[example.key].get(model.slug)
            right = self.right(example, answer) if answer is not None else None
            if answer is not None and right is not None:
                outcomes.append(
                    (right, answer.cost, answer.latency_ms, model.slug != first, answer.cost_estimated)
                )
        configured = not self.task.cascade_enabled and model.slug == first
        return _summarise(
            key=model.slug,
            label=f"{model.slug} alone",
            kind="single",
            models=[model.slug],
            threshold=None,
            local=False,
            configured=configured,
            outcomes=outcomes,
        )

    def cascade(self, threshold: float, local: bool) -> CandidateResult:
        chain = [m.slug for m in self.pool]
        outcomes = []
        for example in self.examples:
            replayed = self._cascade_one(example, self.chain(example), threshold, local)
            if replayed is not None:
                outcomes.append(replayed)
        configured = (
            self.task.cascade_enabled
            and local == self.local_check
            and abs(threshold - float(self.task.cascade_confidence_threshold)) < 1e-9
        )
        return _summarise(
            key=cascade_key(threshold, local),
            label=f"cascade {' → '.join(chain)} below {threshold:.2f}"
            + (" or local disagrees" if local else ""),
            kind="cascade",
            models=chain,
            threshold=threshold,
            local=local,
            configured=configured,
            outcomes=outcomes,
        )

    def _cascade_one(
        self, example: Example, chain: Sequence[str], threshold: float, local: bool
    ) -> tuple[bool, Decimal, int | None, bool, bool] | None:
        """The cascade on one example: (right, cost, latency, reached a later model, estimated),
        or None when an answer it needs isn't stored."""
        answers = self.answers[example.key]
        cost, latency, estimated = Decimal(0), 0, False
        latency_known = True
        for index, slug in enumerate(chain):
            answer = answers.get(slug)
            if answer is None:
                return None
            cost += answer.cost
            estimated = estimated or answer.cost_estimated
            if answer.latency_ms is None:
                latency_known = False
            else:
                latency += answer.latency_ms
            last = index == len(chain) - 1
            doubtful = not last and (
                (answer.confidence is not None and answer.confidence < threshold)
                or (local and self.local_disagrees(example, answer))
            )
            if not doubtful:
                right = self.right(example, answer)
                if right is None:
                    return None  # kept an answer agents never judged
                return right, cost, latency if latency_known else None, index > 0, estimated
        return None  # an empty chain

    def evaluate(
        self, thresholds: Sequence[float] = DEFAULT_THRESHOLDS, keys: Sequence[str] | None = None
    ) -> Evaluation:
        """Every candidate (or those named by ``keys``), from the answers held now."""
        candidates = [self.single(model) for model in self.pool]
        if len(self.pool) >= 2:
            grid = sorted({round(float(t), 4) for t in thresholds} | self._configured_threshold())
            locals_ = [False, True] if self.subtask.disagreement is not None else [False]
            candidates += [self.cascade(t, local) for local in locals_ for t in grid]
        if keys:
            unknown = [k for k in keys if not any(c.key == k for c in candidates)]
            if unknown:
                known = ", ".join(c.key for c in candidates)
                raise EvaluationError(f"Unknown candidate {', '.join(unknown)} (candidates: {known})")
            candidates = [c for c in candidates if c.key in keys]
        sources: dict[str, int] = {}
        for example in self.examples:
            sources[example.source] = sources.get(example.source, 0) + 1
        return Evaluation(
            router=self.router.name,
            task=self.task.name,
            rule=self.labeled.rule,
            examples=len(self.examples),
            sources=sources,
            pool=[m.slug for m in self.pool],
            candidates=candidates,
            missing_answers=len(self.missing()),
            live_answers=self.live_answers,
            live_failures=self.live_failures,
            judged=self.labeled.judged,
        )

    def _configured_threshold(self) -> set[float]:
        return {round(float(self.task.cascade_confidence_threshold), 4)}


def _summarise(
    *,
    key: str,
    label: str,
    kind: str,
    models: list[str],
    threshold: float | None,
    local: bool,
    configured: bool,
    outcomes: Sequence[tuple[bool, Decimal, int | None, bool, bool]],
) -> CandidateResult:
    n = len(outcomes)
    correct = sum(1 for right, *_ in outcomes if right)
    low, high = wilson_interval(correct, n)
    total = sum((cost for _, cost, *_ in outcomes), Decimal(0))
    latencies = [latency for _, _, latency, *_ in outcomes if latency is not None]
    return CandidateResult(
        key=key,
        label=label,
        kind=kind,
        models=models,
        threshold=threshold,
        local_disagreement=local,
        configured=configured,
        n=n,
        correct=correct,
        accuracy=correct / n if n else None,
        low=low,
        high=high,
        strong_share=sum(1 for o in outcomes if o[3]) / n if n else None,
        cost_per_1000=float(total / n * 1000) if n else None,
        p95_latency_ms=percentile(latencies, 95),
        estimated_costs=sum(1 for o in outcomes if o[4]),
    )


# --- building a replay ----------------------------------------------------------------------------
def task_for(router: Router, task_name: str) -> RouterTask:
    """The router's task, if evaluate can score it (raises EvaluationError with what it can)."""
    task = RouterTask.objects.filter(router=router, name=task_name).first()
    if task is None:
        known = ", ".join(router.tasks.order_by("name").values_list("name", flat=True)) or "none"
        raise EvaluationError(f"Router {router.name!r} has no task {task_name!r} (its tasks: {known})")
    if task_name not in LABELED_TASKS:
        raise EvaluationError(
            f"Task {task_name!r} has no labels to score against; evaluate scores "
            f"{' and '.join(LABELED_TASKS)}"
        )
    return task


def pool_bounds(task: RouterTask) -> dict[str, tuple[int, int]]:
    """Per pool model, the urgencies its entry serves (1-5 when unbounded)."""
    return {
        slug: (low or 1, high or 5)
        for slug, low, high in task.pool.values_list("model__slug", "min_urgency", "max_urgency")
    }


def pool_in_order(task: RouterTask) -> list[LLMModel]:
    """The task's usable pool models in the order the router asks them (the cascade's order): by
    expected cost for ``lowest_cost``, else by rank (``lowest_latency`` starts in rank order)."""
    entries = list(task.pool.select_related("model__provider").order_by("rank", "id"))
    models = [e.model for e in entries if e.model.enabled and e.model.provider.enabled]
    if task.selection_policy == "lowest_cost":

        def expected(model: LLMModel) -> Decimal:
            return call_cost(
                input_price_per_m=model.input_price_per_m,
                output_price_per_m=model.output_price_per_m,
                prompt_tokens=task.expected_input_tokens,
                completion_tokens=task.expected_output_tokens,
            )

        models = sorted(models, key=expected)  # stable: ties keep the rank order
    return models


def shipped_examples(router: Router, task_name: str) -> list[Example]:
    """The shipped labeled set's held-out split (the local models never trained on it), matched to
    this router's stored tickets of the same subject and body (one query) so stored answers count."""
    from triage.local_models.store import load_dataset, split

    field_name = LABELED_TASKS[task_name].label_field
    if LABELED_TASKS[task_name].judged:
        return []  # the shipped set has no agents' verdicts on answers
    _, held_out = split(load_dataset())
    if task_name == CLASSIFY:
        held_out = [r for r in held_out if r.category in (router.categories or [])]
    stored: dict[tuple[str, str], int] = {}
    subjects = sorted({r.subject for r in held_out})
    for pk, subject, body in (
        Ticket.objects.filter(router=router, subject__in=subjects)
        .order_by("-id")
        .values_list("id", "subject", "body")
    ):
        stored.setdefault((subject, body), pk)
    return [
        Example(
            key=f"shipped:{row.id}",
            ticket_id=stored.get((row.subject, row.body)),
            subject=row.subject,
            body=row.body,
            customer_tier=row.customer_tier,
            label=getattr(row, field_name),
            source="shipped",
        )
        for row in held_out
    ]


def agent_examples(router: Router, task_name: str, labels: Sequence[Any] | None = None) -> list[Example]:
    """Agents' labels of the router for the task (a judged task: their verdicts), newest first."""
    from triage.services.labels import agent_labels, text_verdicts

    labeled = LABELED_TASKS[task_name]
    rows: Sequence[Any]
    if labeled.judged:
        rows = text_verdicts(router=router, task_name=task_name)
    else:
        rows = agent_labels(router=router) if labels is None else labels
    examples = [
        Example(
            key=f"ticket:{row.ticket_id}",
            ticket_id=row.ticket_id,
            subject=row.subject,
            body=row.body,
            customer_tier=row.customer_tier,
            label=getattr(row, labeled.label_field),
            source=row.source,
            # the urgency a judged answer was routed with (its tier); a label's urgency is a label
            urgency=row.urgency if labeled.judged else None,
        )
        for row in rows
        if getattr(row, labeled.label_field) is not None
    ]
    return sorted(examples, key=lambda e: -(e.ticket_id or 0))


def replay_prepare(
    *,
    router: Router,
    task_name: str,
    include_shipped: bool = False,
    limit: int | None = None,
    labels: Sequence[Any] | None = None,
    use_local_model: bool = True,
) -> Replay:
    """The task's labeled examples (at most ``limit``, newest agent labels first) with their stored
    answers loaded. ``labels``: agents' labels already read (the analytics page reads them once)."""
    task = task_for(router, task_name)
    pool = pool_in_order(task)
    if not pool:
        raise EvaluationError(f"Task {router.name}:{task_name} has no usable model in its pool")
    examples = agent_examples(router, task_name, labels)
    if include_shipped:
        examples += shipped_examples(router, task_name)
    if limit is not None:
        examples = examples[: max(0, limit)]
    replay = Replay(
        router=router,
        task=task,
        pool=pool,
        examples=examples,
        use_local_model=use_local_model,
        bounds=pool_bounds(task),
    )
    replay.load_stored()
    return replay


def evaluate(
    *,
    router: Router,
    task_name: str,
    include_shipped: bool = False,
    limit: int | None = None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    keys: Sequence[str] | None = None,
    live: bool = False,
    use_local_model: bool = True,
) -> Evaluation:
    """Replay and score every candidate; ``live`` first asks the answers that aren't stored (billed)."""
    replay = replay_prepare(
        router=router,
        task_name=task_name,
        include_shipped=include_shipped,
        limit=limit,
        use_local_model=use_local_model,
    )
    if live:
        replay.fetch_live(replay.missing())
    return replay.evaluate(thresholds, keys)


# --- calibration ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    kind: str  # "strong": a share of the best single model's accuracy; "labels": an accuracy
    value: float
    text: str


def parse_target(text: str) -> Target:
    """``strong:0.95`` (95% of the best single model's accuracy) or ``labels:0.93`` (93% right);
    a share may be written as a percentage (``labels:93%``)."""
    kind, _, raw = text.strip().partition(":")
    kind = kind.strip().lower()
    raw = raw.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        value = -1.0
    if percent:
        value /= 100  # "95%"
    if kind not in ("strong", "labels") or not 0 < value <= 1:
        raise EvaluationError(
            f"Target {text!r} is not valid: give strong:<share> (e.g. strong:0.95, 95% of the best "
            "single model's accuracy) or labels:<accuracy> (e.g. labels:0.93)"
        )
    return Target(kind, value, f"{kind}:{value:g}")


def calibrate(evaluation: Evaluation, target: Target, *, local: bool) -> dict[str, Any]:
    """The cheapest cascade threshold (with local disagreement as ``local``) whose accuracy meets
    the target, as ``RouterTask.calibration`` stores it; ``threshold`` None when none does."""
    singles = [c for c in evaluation.candidates if c.kind == "single" and c.accuracy is not None]
    if target.kind == "strong":
        best = max((c.accuracy or 0.0 for c in singles), default=None)
        required = target.value * best if best is not None else None
    else:
        required = target.value
    cascades = [
        c
        for c in evaluation.candidates
        if c.kind == "cascade" and c.local_disagreement == local and c.accuracy is not None and c.n
    ]
    if evaluation.judged:
        # Agents judged only the answers they saw: a threshold that would keep an answer nobody saw
        # drops that ticket, and with it the outcome that would change. Only thresholds replayable on
        # as many tickets as the best covered one are comparable.
        covered = max((c.n for c in cascades), default=0)
        cascades = [c for c in cascades if c.n == covered]
    meeting = [c for c in cascades if required is not None and (c.accuracy or 0.0) >= required - 1e-9]
    chosen = min(
        meeting,
        key=lambda c: (c.cost_per_1000 or 0.0, -(c.accuracy or 0.0), c.threshold or 0.0),
        default=None,
    )
    found: dict[str, Any] = {
        "target": target.text,
        "required": round(required, 4) if required is not None else None,
        "threshold": None,
        "local_disagreement": local,
        "accuracy": None,
        "low": None,
        "high": None,
        "strong_share": None,
        "cost_per_1000": None,
        "n": 0,
        "at": timezone.now().isoformat(timespec="seconds"),
    }
    if chosen is not None:
        found.update(
            threshold=chosen.threshold,
            accuracy=chosen.accuracy,
            low=chosen.low,
            high=chosen.high,
            strong_share=chosen.strong_share,
            cost_per_1000=chosen.cost_per_1000,
            n=chosen.n,
        )
    return found


def calibration_save(task: RouterTask, calibration: dict[str, Any]) -> None:
    """Store the recommendation on the task (one column: an admin's concurrent edit keeps its own)."""
    RouterTask.objects.filter(pk=task.pk).update(calibration=calibration)
    task.calibration = calibration


def calibration_summary(calibration: dict[str, Any] | None) -> str:
    """One line for people: the admin and the command say the same."""
    if not calibration:
        return ""
    target = calibration.get("target", "?")
    when = str(calibration.get("at", ""))[:16].replace("T", " ")
    if calibration.get("threshold") is None:
        return f"No cascade threshold met the target {target} ({calibration.get('n', 0)} tickets; {when})."

    def pct(value: Any) -> str:
        return f"{float(value) * 100:.1f}%" if isinstance(value, int | float) else "–"

    cost = calibration.get("cost_per_1000")
    return (
        f"Target {target}: threshold {float(calibration['threshold']):.2f}"
        f"{' (with local disagreement)' if calibration.get('local_disagreement') else ''}: "
        f"accuracy {pct(calibration.get('accuracy'))} (95% CI {pct(calibration.get('low'))}–"
        f"{pct(calibration.get('high'))}), {pct(calibration.get('strong_share'))} reach the stronger model, "
        f"${float(cost or 0):.4f} per 1,000 tickets, n={calibration.get('n')}; {when}"
    )


# --- analytics: cost against quality ----------------------------------------------------------------
@dataclass
class QualityChart:
    task: str
    rule: str
    examples: int
    points: list[dict[str, Any]] = field(default_factory=list)  # singles, configured, recommended
    curve: list[dict[str, Any]] = field(default_factory=list)  # the cascade across thresholds
    note: str = ""


def _point(candidate: CandidateResult, label: str, role: str) -> dict[str, Any]:
    return {
        "label": label,
        "role": role,
        "key": candidate.key,
        "cost_per_1000": round(candidate.cost_per_1000, 6) if candidate.cost_per_1000 is not None else None,
        "accuracy": round(candidate.accuracy, 4) if candidate.accuracy is not None else None,
        "low": round(candidate.low, 4) if candidate.low is not None else None,
        "high": round(candidate.high, 4) if candidate.high is not None else None,
        "strong_share": round(candidate.strong_share, 4) if candidate.strong_share is not None else None,
        "n": candidate.n,
    }


def cost_quality(router: Router, *, limit: int = 1000) -> list[QualityChart]:
    """Per labeled task of the router: each pool model alone, the cascade as configured and at its
    recommended threshold (accuracy against cost per 1,000 tickets), from stored answers only (no
    model is asked; local disagreement as the stored cascade recorded it). Agents' labels are read
    once, the newest ``limit`` per task; a few queries per task."""
    from triage.services.labels import agent_labels

    tasks = {t.name: t for t in RouterTask.objects.filter(router=router, name__in=list(LABELED_TASKS))}
    if not tasks:
        return []
    labels = agent_labels(router=router)
    charts = []
    for name in LABELED_TASKS:
        task = tasks.get(name)
        if task is None:
            continue
        chart = QualityChart(task=name, rule=LABELED_TASKS[name].rule, examples=0)
        charts.append(chart)
        try:
            replay = replay_prepare(
                router=router, task_name=name, limit=limit, labels=labels, use_local_model=False
            )
        except EvaluationError as error:
            chart.note = str(error)
            continue
        chart.examples = len(replay.examples)
        evaluation = replay.evaluate()
        local = replay.local_check
        for candidate in evaluation.candidates:
            if candidate.kind == "single" and candidate.n:
                chart.points.append(_point(candidate, candidate.label, "single"))
            elif candidate.kind == "cascade" and candidate.local_disagreement == local and candidate.n:
                chart.curve.append(_point(candidate, f"threshold {candidate.threshold:.2f}", "curve"))
        if len(replay.pool) >= 2:
            configured = evaluation.candidate(
                cascade_key(round(float(task.cascade_confidence_threshold), 4), local)
            )
            if configured is not None and configured.n:
                state = "" if task.cascade_enabled else ", off"
                chart.points.append(
                    _point(
                        configured, f"cascade as configured ({configured.threshold:.2f}{state})", "configured"
                    )
                )
            recommended = (task.calibration or {}).get("threshold")
            if isinstance(recommended, int | float):
                point = replay.cascade(
                    float(recommended), bool(task.calibration.get("local_disagreement", local))
                )
                if point.n:
                    chart.points.append(
                        _point(point, f"recommended ({float(recommended):.2f})", "recommended")
                    )
        if not chart.points:
            chart.note = chart.note or "No stored answers of labeled tickets yet."
    return charts
