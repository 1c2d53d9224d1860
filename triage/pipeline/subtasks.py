"""The subtasks a ticket is triaged in: one definition each, in one registry.

A definition says everything the rest of the app needs to know about a subtask: the router task
it is routed as, its label, the parser its output must pass, its token budget, its phase, when it
is skipped, what later steps read when every model failed, the ticket columns its result fills,
the template that shows its result, the local model that serves it offline and which steps a
re-run of it also redoes. The orchestrator runs the phases from the registry; the pages, the API,
the results, the forms and the presets iterate it. A new subtask is one ``register_subtask(...)``
(and its task on the router).

The system prompt is the task's ``system_prompt`` from the database, so admins see and tune it;
the ticket text goes only into the user message. Names tasks, never models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from triage.local_models.registry import get_local_model
from triage.models import Router, Ticket, TriageStep
from triage.pipeline.parsing import parse_brief, parse_category, parse_reply, parse_urgency
from triage.ticket_text import TicketText, ticket_message

CLASSIFY = "classify_ticket"
URGENCY = "urgency_detection"
REPLY = "draft_customer_reply"
BRIEF = "escalate_complex_issue"

Results = Mapping[str, dict[str, Any]]  # the results of earlier phases, by subtask name


def _always(router: Router, earlier: Results) -> str:
    return ""


def _no_ticket_fields(step: TriageStep) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Subtask:
    name: str  # the router task it is routed as
    label: str  # what pages call it
    parse: Callable[[str, Router], dict[str, Any]]  # strict parser of the model's output
    max_tokens: int  # the answer's budget (a reasoning model's allowance is added on top)
    temperature: float | None = None  # sent to models whose profile accepts one (None: the model's own)
    phase: int = 1  # phase 1 starts at once; each later phase once the one before has finished
    # why it is skipped given the earlier phases' results ("" runs it)
    skip_reason: Callable[[Router, Results], str] = _always
    fallback_result: dict[str, Any] | None = None  # what later phases read when every model failed
    ticket_fields: Callable[[TriageStep], dict[str, Any]] = _no_ticket_fields  # columns it fills
    partial: str = "triage/partials/results/generic.html"  # shows its result on the ticket page
    skipped_label: str = "Skipped"  # what the page says before the skip reason
    local_model: str = ""  # the built-in model that serves it offline (presets)
    redo: tuple[str, ...] = ()  # steps a re-run of this one also redoes (they depend on it)
    # the cascade: why a model's answer disagrees with the local model's ("" when it doesn't), given
    # both parsed results and the router; None: this subtask's answers aren't compared
    disagreement: Callable[[dict[str, Any], dict[str, Any], Router], str] | None = None
    # a router that lacks this task leaves its tickets needing attention, not "triaged" (the four
    # built-in subtasks: an admin renamed or deleted one); an added subtask some routers serve is optional
    required: bool = False


SUBTASKS: dict[str, Subtask] = {}


def register_subtask(subtask: Subtask) -> Subtask:
    SUBTASKS[subtask.name] = subtask
    return subtask


def unregister_subtask(name: str) -> None:
    SUBTASKS.pop(name, None)


def subtask_names() -> list[str]:
    """Every subtask, in the order pages show them."""
    return list(SUBTASKS)


def subtask_phases() -> list[list[Subtask]]:
    """The subtasks grouped by phase, in the order they run."""
    phases: dict[int, list[Subtask]] = {}
    for subtask in SUBTASKS.values():
        phases.setdefault(subtask.phase, []).append(subtask)
    return [phases[number] for number in sorted(phases)]


def subtask_label(name: str) -> str:
    subtask = SUBTASKS.get(name)
    return subtask.label if subtask else name.replace("_", " ").capitalize()


def subtasks_redone_with(name: str) -> list[str]:
    """The steps a re-run of ``name`` redoes: itself and what depends on it."""
    return [name, *SUBTASKS[name].redo]


def subtask_messages(*, system_prompt: str, router: Router, ticket: Ticket) -> list[dict[str, str]]:
    """System prompt from configuration (with the router's categories filled in), ticket as user text."""
    system = system_prompt.replace("{categories}", ", ".join(router.categories))
    text = TicketText(
        subject=ticket.subject,
        body=ticket.body,
        customer_tier=ticket.customer_tier,
        account_id=ticket.account_id,
    )
    messages = [{"role": "user", "content": ticket_message(text)}]
    if system.strip():
        messages.insert(0, {"role": "system", "content": system})
    return messages


FROM_LOCAL_MODEL = "from_local_model"  # marks local_opinion's answers (disagreement rules may weigh them)


def local_opinion(subtask: Subtask, messages: list[dict[str, str]], router: Router) -> dict[str, Any] | None:
    """The subtask's built-in local model's parsed answer (in process, $0); None when it has none or
    can't answer."""
    local = get_local_model(subtask.local_model) if subtask.local_model else None
    if local is None:
        return None
    try:
        opinion = subtask.parse(local.reply(messages, task=subtask.name), router)
    except Exception:  # noqa: BLE001 - a local model that can't answer has no opinion
        return None
    return {**opinion, FROM_LOCAL_MODEL: True} if isinstance(opinion, dict) else None


def answers_disagree(subtask: Subtask, answer: Any, other: Any, router: Router) -> str | None:
    """Why two parsed answers of the subtask disagree ("" when they agree; None when they can't be
    compared): the one rule the cascade, shadow comparisons and evaluation all use."""
    if subtask.disagreement is None or not isinstance(answer, dict) or not isinstance(other, dict):
        return None
    try:
        return subtask.disagreement(answer, other, router)
    except (KeyError, TypeError, ValueError):
        return None


def local_opinion_check(
    subtask: Subtask, messages: list[dict[str, str]], router: Router
) -> Callable[[Any], str] | None:
    """For the cascade: compares a model's answer with the subtask's built-in local model's (asked
    only when the router needs it); "" when they agree or the local model can't say. None when
    the subtask isn't compared."""
    if subtask.disagreement is None or not subtask.local_model:
        return None

    def check(answer: Any) -> str:
        opinion = local_opinion(subtask, messages, router)
        return (answers_disagree(subtask, answer, opinion, router) or "") if opinion else ""

    return check


def urgency_of(earlier: Results) -> int | None:
    """The urgency score once phase 1 knows it (tiered pools serve by it), else None."""
    score = (earlier.get(URGENCY) or {}).get("score")
    return int(score) if isinstance(score, int) else None


# --- the four subtasks of the triage article --------------------------------------------------------
# When every model failed to score urgency, later steps read this and the ticket is flagged.
DEFAULT_URGENCY = {
    "score": 3,
    "sentiment": "unknown",
    "escalation_risk": False,
    "reason": "",
    "defaulted": True,
}


def escalation_decision(*, urgency: Mapping[str, Any], threshold: int) -> tuple[bool, str]:
    """Whether the brief runs, and the reason shown when it doesn't."""
    score = int(urgency["score"])
    if score >= threshold or urgency.get("escalation_risk"):
        return True, ""
    return False, f"urgency {score} < threshold {threshold}"


def _brief_skip_reason(router: Router, earlier: Results) -> str:
    escalate, reason = escalation_decision(
        urgency=earlier.get(URGENCY) or DEFAULT_URGENCY, threshold=router.escalation_threshold
    )
    return "" if escalate else reason


def _category_disagreement(answer: dict[str, Any], local: dict[str, Any], router: Router) -> str:
    if answer.get("category") != local.get("category"):
        return f"disagreed with local ({local.get('category')})"
    return ""


# One point apart across the escalation line counts as a disagreement only when the local scorer
# is at least this sure of its escalation decision (its ``confidence``: 0.5 at its threshold, 1 when
# certain): its unsure 3-or-4 calls sent ~3% more tickets to the stronger model in
# bench/quality_routing.py. That bench's wrong answers are all 2+ points off, so it can't show what
# the rule costs on a real 3-vs-4 error; `manage.py evaluate` on agents' labels can.
LOCAL_SURE_OF_ESCALATION = 0.7


def _urgency_disagreement(answer: dict[str, Any], local: dict[str, Any], router: Router) -> str:
    """2+ points apart, or on either side of the escalation decision (where the local scorer is sure)."""
    score, local_score = int(answer["score"]), int(local["score"])
    threshold = router.escalation_threshold
    escalates = escalation_decision(urgency=answer, threshold=threshold)[0]
    # only the local scorer's answer is weighed by its confidence; another model's (a shadow
    # comparison) disagrees across the line whatever it states
    local_confidence = local.get("confidence") if local.get(FROM_LOCAL_MODEL) else None
    local_sure = not isinstance(local_confidence, int | float) or local_confidence >= LOCAL_SURE_OF_ESCALATION
    if abs(score - local_score) >= 2 or (
        local_sure and escalates != escalation_decision(urgency=local, threshold=threshold)[0]
    ):
        return f"disagreed with local (urgency {local_score})"
    return ""


def _result_value(step: TriageStep, key: str) -> Any:
    return step.result.get(key) if isinstance(step.result, dict) else None


register_subtask(
    Subtask(
        name=CLASSIFY,
        label="Category",
        required=True,
        parse=lambda text, router: parse_category(text, categories=list(router.categories)),
        max_tokens=100,
        temperature=0,  # a label, not prose: the same ticket gets the same category
        disagreement=_category_disagreement,
        ticket_fields=lambda step: {"category": _result_value(step, "category") or ""},
        partial="triage/partials/results/category.html",
        local_model="local/ticket-classifier",
    )
)
register_subtask(
    Subtask(
        name=URGENCY,
        label="Urgency",
        required=True,
        parse=lambda text, router: parse_urgency(text),
        max_tokens=150,
        temperature=0,
        disagreement=_urgency_disagreement,
        fallback_result=DEFAULT_URGENCY,
        ticket_fields=lambda step: {"urgency_score": _result_value(step, "score")},
        partial="triage/partials/results/urgency.html",
        local_model="local/urgency-scorer",
        redo=(REPLY, BRIEF),  # the reply's tier and the escalation decision follow urgency
    )
)
register_subtask(
    Subtask(
        name=REPLY,
        label="Customer reply",
        required=True,
        parse=lambda text, router: parse_reply(text),
        max_tokens=400,
        phase=2,
        partial="triage/partials/results/reply.html",
        local_model="local/reply-drafter",
    )
)
register_subtask(
    Subtask(
        name=BRIEF,
        label="Escalation brief",
        required=True,
        parse=lambda text, router: parse_brief(text),
        max_tokens=700,
        phase=2,
        skip_reason=_brief_skip_reason,
        skipped_label="Not escalated",
        ticket_fields=lambda step: {"escalated": step.status == TriageStep.Status.DONE},
        partial="triage/partials/results/brief.html",
        local_model="local/brief-writer",
    )
)
