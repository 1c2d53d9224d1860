"""Helpers for the local-tier tests: requests shaped like the pipeline's, and the labeled set."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from triage.local_models.registry import get_local_model
from triage.local_models.store import LabeledTicket, load_dataset, split
from triage.presets import LOCAL_MODELS, ROUTERS
from triage.ticket_text import TicketText, ticket_message

TRIAGE_PROMPTS = {
    str(task["name"]): str(task["system_prompt"]) for task in cast(list[dict[str, Any]], ROUTERS[0]["tasks"])
}
CATEGORIES = "billing, bug, how-to, account, feature-request, other"


def request_for(task: str, subject: str, body: str, tier: str = "") -> list[dict[str, str]]:
    """The messages the pipeline sends for a triage task: preset system prompt, ticket as user text."""
    system = TRIAGE_PROMPTS[task].replace("{categories}", CATEGORIES)
    ticket = TicketText(subject=subject, body=body, customer_tier=tier)
    return [{"role": "system", "content": system}, {"role": "user", "content": ticket_message(ticket)}]


def ask(task: str, subject: str, body: str, tier: str = "") -> dict[str, Any]:
    model = get_local_model(LOCAL_MODELS[task])
    assert model is not None
    return json.loads(model.reply(request_for(task, subject, body, tier), task=task))


@pytest.fixture(scope="session")
def labeled() -> list[LabeledTicket]:
    return load_dataset()


@pytest.fixture(scope="session")
def held_out(labeled: list[LabeledTicket]) -> list[LabeledTicket]:
    return split(labeled)[1]
