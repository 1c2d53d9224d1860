"""Whatever a customer types, every local model answers in the shape the pipeline accepts."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.local_models.conftest import request_for
from triage.local_models.registry import get_local_model
from triage.pipeline.parsing import parse_brief, parse_category, parse_reply, parse_urgency
from triage.presets import LOCAL_MODELS
from triage.ticket_text import TicketText, ticket_message

CATEGORIES = ["billing", "bug", "how-to", "account", "feature-request", "other"]
ticket_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.sampled_from(
    ["", " ", "{name}", "[Customer Name]", "INV-", "!!!", "Subject: x\n\nSubject: y", "é" * 50]
)


def answer(task: str, subject: str, body: str) -> str:
    model = get_local_model(LOCAL_MODELS[task])
    assert model is not None
    return model.reply(request_for(task, subject, body), task=task)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=ticket_text, body=ticket_text)
def test_every_model_answers_any_ticket_validly(subject: str, body: str) -> None:
    parse_category(answer("classify_ticket", subject, body), CATEGORIES)
    parse_urgency(answer("urgency_detection", subject, body))
    parse_reply(answer("draft_customer_reply", subject, body))
    brief = parse_brief(answer("escalate_complex_issue", subject, body))
    assert brief["summary"]


def test_a_very_long_ticket_is_read_from_its_start() -> None:
    body = "Our dashboard returns 502 for all 300 users. " + "log line " * 20000
    result = json.loads(answer("urgency_detection", "Outage", body))
    assert result["score"] >= 4


def test_support_bot_answers_a_message_that_is_not_a_ticket() -> None:
    bot = get_local_model(LOCAL_MODELS["support_bot"])
    assert bot is not None
    text = ticket_message(TicketText(subject="", body="What are your support hours?"))
    assert "Monday" in bot.reply([{"role": "user", "content": text}], task="general_faq")
