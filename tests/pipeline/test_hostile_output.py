"""Hostile or broken model output: never a crash, never a stuck ticket, always a billed row.

The parsers are fuzzed with hypothesis (random JSON, huge numbers, deep nesting, 1 MB strings, NUL
and other control characters, lone surrogates); the router and the whole pipeline are run against a
stub model server that answers such output, and a real provider-style raw body with invalid UTF-8.
``make fuzz`` runs the same properties with many more examples.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.stub_openai import Behaviour, StubOpenAI, answer
from triage.models import ModelCall, Router, Ticket
from triage.pipeline.parsing import InvalidOutput, parse_brief, parse_category, parse_reply, parse_urgency
from triage.pipeline.subtasks import SUBTASKS
from triage.pipeline.triage import triage_ticket
from triage.routing import RoutingError, route
from triage.services.tickets import ticket_submit

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))  # make fuzz: many more
CATEGORIES = ["billing", "bug", "how-to", "account", "feature-request", "other"]
PARSERS = {
    "classify_ticket": lambda text: parse_category(text, CATEGORIES),
    "urgency_detection": parse_urgency,
    "draft_customer_reply": parse_reply,
    "escalate_complex_issue": parse_brief,
}

# --- hostile output, as text a model could send ---------------------------------------------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
subtask_keys = st.sampled_from(
    [
        "category",
        "confidence",
        "score",
        "sentiment",
        "escalation_risk",
        "reason",
        "reply",
        "summary",
        "next_steps",
    ]
)
shaped_objects = st.dictionaries(subtask_keys, json_values, max_size=6).map(
    lambda d: json.dumps(d, ensure_ascii=False, allow_nan=True)
)


def _deep(depth: int) -> str:
    return '{"category": ' + "[" * depth + "1" + "]" * depth + "}"


special = st.sampled_from(
    [
        '{"category":"billing","confidence":1' + "0" * 400 + "}",  # float() overflows
        '{"score": 1' + "0" * 5000 + "}",  # past Python's integer digit limit
        _deep(100_000),  # RecursionError in the decoder
        '{"reply": "' + "a" * 1_000_000 + '"}',  # a 1 MB string
        '{"category": "billing\\u0000"}',  # NUL, escaped
        "billing\x00",  # NUL, raw
        '{"reply": "Hello \\udc80 there."}',  # a lone surrogate: not storable text
        "{" * 50_000,
        '```json\n{"score": 5, "sentiment": "\x1b[31mred"}\n```',
        '{"summary": {"nested": [' * 30 + "]}" * 30,
    ]
)
hostile_text = st.one_of(
    special,
    shaped_objects,
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="surrogateescape")),
)


@pytest.mark.parametrize("task", list(PARSERS))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=hostile_text)
def test_a_parser_returns_a_result_or_invalid_output_and_nothing_else(task: str, text: str) -> None:
    try:
        result = PARSERS[task](text)
    except InvalidOutput:
        return
    assert isinstance(result, dict)


def test_the_two_answers_that_stalled_tickets_are_handled() -> None:
    overflowing = '{"category":"billing","confidence":1' + "0" * 400 + "}"
    assert parse_category(overflowing, CATEGORIES) == {"category": "billing", "confidence": None}
    with pytest.raises(InvalidOutput, match="nests 10001 levels"):
        parse_category(_deep(10_000), CATEGORIES)  # short enough to reach the decoder
    with pytest.raises(InvalidOutput, match="characters long"):
        parse_category(_deep(100_000), CATEGORIES)


# --- through the router and the pipeline ---------------------------------------------------------
@pytest.fixture
def hostile_router(make_model: Any, make_router: Any, test_local_model: Any) -> Router:
    from tests.support.fixtures import TaskSpec

    make_model("stub-hostile")
    return make_router(
        "hostile-router",
        tasks={name: TaskSpec(pool=["stub-hostile"]) for name in SUBTASKS},
        fallbacks=["local/test-echo"],
    )


@pytest.mark.django_db(transaction=True)
@settings(max_examples=max(EXAMPLES // 4, 10), deadline=None, suppress_health_check=list(HealthCheck))
@given(text=hostile_text, task=st.sampled_from(list(PARSERS)))
def test_the_router_bills_hostile_output_and_fails_over(
    hostile_router: Router, stub_openai: StubOpenAI, text: str, task: str
) -> None:
    stub_openai.script(
        "stub-hostile", answer(text.encode("utf-8", errors="surrogatepass").decode("utf-8", "replace"))
    )
    before = ModelCall.objects.count()
    try:
        result = route(
            hostile_router, [{"role": "user", "content": "hi"}], task=task, validator=PARSERS[task]
        )
    except RoutingError:
        result = None
    rows = ModelCall.objects.order_by("id")[before:]
    assert rows and rows[0].model_slug == "stub-hostile"
    assert rows[0].outcome in ("ok", "invalid_output") and rows[0].cost > 0  # billed either way
    assert not any(row.outcome == "pending" for row in rows)
    if rows[0].outcome == "invalid_output":
        assert result is None or result.served_by != "stub-hostile"


@pytest.mark.django_db(transaction=True)
def test_invalid_utf8_from_the_provider_is_a_failed_attempt_with_its_row(
    hostile_router: Router, stub_openai: StubOpenAI
) -> None:
    body = b'{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,'
    body += b'"message":{"role":"assistant","content":"\xff\xfe bad"},"finish_reason":"stop"}]}'
    stub_openai.script("stub-hostile", Behaviour(kind="raw", status=200, body=body))
    with contextlib.suppress(RoutingError):
        route(
            hostile_router,
            [{"role": "user", "content": "hi"}],
            task="classify_ticket",
            validator=PARSERS["classify_ticket"],
        )
    row = ModelCall.objects.filter(model_slug="stub-hostile").get()
    assert row.outcome != "pending"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "text",
    [
        '{"category":"billing","confidence":1' + "0" * 400 + "}",
        _deep(100_000),
        '{"reply": "Hello \\udc80 there.", "category": "bug", "score": 5, "summary": "x\\u0000"}',
    ],
)
def test_a_ticket_whose_models_answer_hostile_output_settles(
    stub_triage_router: Any, stub_openai: StubOpenAI, text: str
) -> None:
    for model in ("stub-classify", "stub-urgency", "stub-reply-cheap", "stub-reply-premium", "stub-brief"):
        stub_openai.set_default(model, answer(text))
    ticket = ticket_submit(router=stub_triage_router, subject="Outage", body="Everything is down.")
    triage_ticket(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status != Ticket.Status.TRIAGING and ticket.status != Ticket.Status.QUEUED
    assert not ticket.calls.filter(outcome="pending").exists()
    assert ticket.calls.exclude(outcome__startswith="skipped").count() >= 1


def test_text_shown_as_it_came_is_made_storable() -> None:
    """The playground keeps a model's raw answer in a JSON column: NUL and lone surrogates can't be."""
    from triage.input_policy import storable_text

    assert storable_text("a\x00b\udc80c\tok\n") == "a b?c\tok\n"
