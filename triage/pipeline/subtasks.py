"""The four subtasks: the messages each sends and the validator its output must pass.

The system prompt is the task's ``system_prompt`` from the database, so admins see and tune it;
the ticket text goes only into the user message. Names tasks, never models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from triage.models import Router, Ticket
from triage.pipeline.parsing import parse_brief, parse_category, parse_reply, parse_urgency
from triage.ticket_text import TicketText, ticket_message

CLASSIFY = "classify_ticket"
URGENCY = "urgency_detection"
REPLY = "draft_customer_reply"
BRIEF = "escalate_complex_issue"
ALL_STEPS = (CLASSIFY, URGENCY, REPLY, BRIEF)

# When every model failed to score urgency, the step falls back to this and the ticket is flagged.
DEFAULT_URGENCY = {
    "score": 3,
    "sentiment": "unknown",
    "escalation_risk": False,
    "reason": "",
    "defaulted": True,
}


@dataclass(frozen=True)
class Subtask:
    name: str
    validator: Callable[[str], dict[str, Any]]
    max_tokens: int


def subtask_for(name: str, router: Router) -> Subtask:
    validators: dict[str, tuple[Callable[[str], dict[str, Any]], int]] = {
        CLASSIFY: (partial(parse_category, categories=list(router.categories)), 100),
        URGENCY: (parse_urgency, 150),
        REPLY: (parse_reply, 400),
        BRIEF: (parse_brief, 700),
    }
    validator, max_tokens = validators[name]
    return Subtask(name=name, validator=validator, max_tokens=max_tokens)


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


def escalation_decision(*, urgency: dict[str, Any], threshold: int) -> tuple[bool, str]:
    """Whether the brief runs, and the reason shown when it doesn't."""
    score = int(urgency["score"])
    if score >= threshold:
        return True, ""
    if urgency.get("escalation_risk"):
        return True, ""
    return False, f"urgency {score} < threshold {threshold}"
