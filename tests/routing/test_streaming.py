"""Streaming: failover before the first content chunk, an explicit error event after it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import answer, hang, rate_limited, server_error, stream_then_die
from triage.models import ModelCall
from triage.routing import RoutingError, route_stream

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "user", "content": "Explain my invoice"}]


@pytest.fixture
def router(make_model, make_router):
    make_model("streamer", input_price="1", output_price="2")
    make_model("backup", input_price="3", output_price="4")
    return make_router(tasks={"chat": TaskSpec(pool=["streamer", "backup"], first_token_timeout="0.5")})


def collect(events):
    events = list(events)
    text = "".join(e.delta for e in events if e.kind == "chunk")
    return events, text


def test_stream_forwards_chunks_then_a_done_event_with_usage_and_cost(router, stub_openai):
    stub_openai.script("streamer", answer("one two three", prompt_tokens=100, completion_tokens=30))

    events, text = collect(route_stream(router, MESSAGES, task="chat"))

    assert text == "one two three"
    assert [e.kind for e in events].count("chunk") >= 3
    done = events[-1]
    assert done.kind == "done" and done.result is not None
    assert done.result.served_by == "streamer"
    assert (done.result.prompt_tokens, done.result.completion_tokens) == (100, 30)
    assert done.result.tokens_estimated is False
    assert done.result.cost == Decimal("0.00016")
    assert stub_openai.requests("streamer")[0].body["stream_options"] == {"include_usage": True}
    call = ModelCall.objects.get()
    assert (call.outcome, call.prompt_tokens, call.cost) == ("ok", 100, Decimal("0.00016"))


def test_stream_fails_over_before_the_first_chunk(router, stub_openai):
    stub_openai.script("streamer", rate_limited(retry_after=3))
    stub_openai.script("backup", answer("from backup"))

    events, text = collect(route_stream(router, MESSAGES, task="chat"))

    assert text == "from backup"
    result = events[-1].result
    assert [(a.model, a.outcome) for a in result.attempts] == [("streamer", "rate_limited"), ("backup", "ok")]


def test_stream_fails_over_when_the_first_token_is_too_slow(router, stub_openai):
    stub_openai.script("streamer", hang(3))
    stub_openai.script("backup", answer("quick"))

    events, text = collect(route_stream(router, MESSAGES, task="chat"))

    assert text == "quick"
    assert [(a.model, a.outcome) for a in events[-1].result.attempts] == [
        ("streamer", "timeout"),
        ("backup", "ok"),
    ]


def test_stream_dying_before_content_fails_over_silently(router, stub_openai):
    stub_openai.script("streamer", stream_then_die("", ""))
    stub_openai.script("backup", answer("recovered"))

    events, text = collect(route_stream(router, MESSAGES, task="chat"))

    assert text == "recovered"
    assert events[-1].kind == "done"


def test_stream_dying_after_content_ends_with_an_error_event(router, stub_openai):
    stub_openai.script("streamer", stream_then_die("partial ", "answer "))

    events, text = collect(route_stream(router, MESSAGES, task="chat"))

    assert text == "partial answer "
    assert events[-1].kind == "error"
    assert "streamer failed after streaming began" in events[-1].error
    assert [(a.model, a.outcome) for a in events[-1].attempts] == [("streamer", "connection_error")]
    assert stub_openai.request_count("backup") == 0  # never a silent switch mid-answer
    call = ModelCall.objects.get()
    assert call.outcome == "connection_error" and call.completion_tokens > 0 and call.tokens_estimated


def test_stream_without_usage_is_estimated(router, stub_openai):
    stub_openai.script("streamer", answer("estimated words here", usage=False))

    events, _ = collect(route_stream(router, MESSAGES, task="chat"))

    assert events[-1].result.tokens_estimated is True
    assert events[-1].result.completion_tokens == 3


def test_stream_raises_when_every_candidate_fails_before_content(router, stub_openai):
    stub_openai.script("streamer", server_error())
    stub_openai.script("backup", server_error())

    with pytest.raises(RoutingError, match="streamer: server_error.*backup: server_error"):
        list(route_stream(router, MESSAGES, task="chat"))


def test_stream_from_the_local_last_resort(router, stub_openai, test_local_model):
    stub_openai.set_default("streamer", server_error())
    stub_openai.set_default("backup", server_error())

    events, text = collect(route_stream(router, MESSAGES, task="chat"))

    assert text == "local answer to: Explain my invoice"
    assert events[-1].result.served_by == "local/test-echo"


def test_stream_closed_by_the_caller_is_still_accounted(router, stub_openai):
    stub_openai.script("streamer", answer("a b c d e f g h"))

    stream = route_stream(router, MESSAGES, task="chat")
    first = next(stream)
    stream.close()

    assert first.kind == "chunk"
    call = ModelCall.objects.get()
    assert call.model_slug == "streamer" and call.error == "stream closed by the caller"
