"""The happy path, explicit tasks, accounting and unknown names."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import answer, omit_usage, server_error
from triage.models import ModelCall
from triage.routing import InvalidOutput, RoutingError, UnknownRouter, UnknownTask, route

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "user", "content": "How do I reset my password?"}]


@pytest.fixture
def router(make_model, make_router):
    make_model("model-a", input_price="1", output_price="2")
    make_model("model-b", input_price="3", output_price="4")
    return make_router(tasks={"classify": TaskSpec(pool=["model-a", "model-b"])})


def test_named_task_is_served_by_the_first_ranked_model(router, stub_openai):
    stub_openai.script("model-a", answer("hello", prompt_tokens=100, completion_tokens=50))

    result = route(router, MESSAGES, task="classify")

    assert result.content == "hello"
    assert result.parsed == "hello"
    assert result.served_by == "model-a"
    assert result.matched_task == "classify"
    assert result.pinned is False
    assert [(a.model, a.outcome) for a in result.attempts] == [("model-a", "ok")]
    assert (result.prompt_tokens, result.completion_tokens, result.tokens_estimated) == (100, 50, False)
    # 100 * $1/M + 50 * $2/M
    assert result.cost == Decimal("0.0002")


def test_router_can_be_named_with_its_router_prefix(router, stub_openai):
    assert route("router:test-router", MESSAGES, task="classify").served_by == "model-a"
    assert route("test-router", MESSAGES, task="classify").served_by == "model-a"


def test_every_attempt_writes_a_model_call_row_with_ticket_and_step(router, stub_openai):
    from triage.models import Ticket, TriageStep

    ticket = Ticket.objects.create(subject="s", body="b", router=router)
    step = TriageStep.objects.create(ticket=ticket, task_name="classify")
    stub_openai.script("model-a", answer("hi", prompt_tokens=10, completion_tokens=5))

    route(router, MESSAGES, task="classify", ticket_id=ticket.pk, step_id=step.pk)

    call = ModelCall.objects.get()
    assert (call.model_slug, call.outcome, call.task_name) == ("model-a", "ok", "classify")
    assert (call.ticket_id, call.step_id, call.router_id) == (ticket.pk, step.pk, router.pk)
    assert (call.prompt_tokens, call.completion_tokens, call.tokens_estimated) == (10, 5, False)
    assert call.cost == Decimal("0.00002")


def test_unknown_task_is_a_clear_error(router):
    with pytest.raises(UnknownTask, match="no task 'nope'.*classify"):
        route(router, MESSAGES, task="nope")


def test_unknown_router_is_a_clear_error(db):
    with pytest.raises(UnknownRouter, match="No router named 'ghost'"):
        route("ghost", MESSAGES, task="x")


def test_missing_usage_is_estimated_with_tiktoken(router, stub_openai):
    stub_openai.script("model-a", omit_usage("The answer is forty two"))

    result = route(router, MESSAGES, task="classify")

    assert result.tokens_estimated is True
    assert result.completion_tokens == 5  # "The answer is forty two" in cl100k_base
    assert result.prompt_tokens > 8
    assert ModelCall.objects.get().tokens_estimated is True


def test_json_mode_is_requested_only_from_models_that_support_it(make_model, make_router, stub_openai):
    make_model("plain", supports_json_mode=False)
    make_model("jsonish", supports_json_mode=True)
    router = make_router(tasks={"t": TaskSpec(pool=["plain"]), "u": TaskSpec(pool=["jsonish"])})

    route(router, MESSAGES, task="t", json_mode=True)
    route(router, MESSAGES, task="u", json_mode=True, max_tokens=50)

    assert "response_format" not in stub_openai.requests("plain")[0].body
    body = stub_openai.requests("jsonish")[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert body["max_tokens"] == 50


def test_validator_result_is_returned_as_parsed(router, stub_openai):
    stub_openai.script("model-a", answer('{"category": "billing"}'))

    def parse(text: str) -> dict:
        data = json.loads(text)
        if data.get("category") not in {"billing", "bug"}:
            raise InvalidOutput("category outside the enum")
        return data

    result = route(router, MESSAGES, task="classify", validator=parse)

    assert result.parsed == {"category": "billing"}


def test_api_key_is_sent_from_the_environment_and_never_stored(router, stub_openai):
    route(router, MESSAGES, task="classify")

    assert stub_openai.requests("model-a")[0].headers["authorization"] == "Bearer stub-secret-key"
    assert "stub-secret-key" not in json.dumps(list(ModelCall.objects.values()), default=str)


def test_routing_error_names_every_model_and_outcome(router, stub_openai):
    from tests.support.stub_openai import server_error

    stub_openai.script("model-a", server_error(500))
    stub_openai.script("model-b", server_error(503))

    with pytest.raises(RoutingError) as caught:
        route(router, MESSAGES, task="classify")

    assert [(a.model, a.outcome) for a in caught.value.attempts] == [
        ("model-a", "server_error"),
        ("model-b", "server_error"),
    ]
    assert "model-a: server_error" in str(caught.value) and "model-b: server_error" in str(caught.value)
    assert ModelCall.objects.count() == 2


def test_disabled_router_is_refused(router):
    router.enabled = False
    router.save()

    with pytest.raises(UnknownRouter, match="disabled"):
        route(router, MESSAGES, task="classify")


def test_urgency_picks_the_pool_tier_that_serves_it(router, stub_openai):
    from triage.models import PoolEntry

    PoolEntry.objects.filter(model__slug="model-a").update(max_urgency=3)
    PoolEntry.objects.filter(model__slug="model-b").update(min_urgency=4)
    from triage.routing import config_bump_version

    config_bump_version()  # QuerySet.update sends no signal

    assert route(router, MESSAGES, task="classify", urgency=5).served_by == "model-b"
    assert route(router, MESSAGES, task="classify", urgency=2).served_by == "model-a"
    assert route(router, MESSAGES, task="classify").served_by == "model-a"


def test_every_model_call_is_logged_with_ticket_task_model_outcome_and_latency(
    caplog: pytest.LogCaptureFixture, make_model: Any, make_router: Any, stub_openai: Any
) -> None:
    import logging

    from tests.support.fixtures import TaskSpec
    from tests.support.stub_openai import answer, server_error
    from triage.routing import route

    make_model("log-a")
    make_model("log-b")
    stub_openai.script("log-a", server_error(500))
    stub_openai.set_default("log-b", answer("fine"))
    router = make_router("log-router", tasks={"faq": TaskSpec(pool=["log-a", "log-b"])})
    secret_text = "my card number is 4111 1111 1111 1111"
    with caplog.at_level(logging.INFO, logger="triage.routing.service"):
        route(router, [{"role": "user", "content": secret_text}], task="faq", ticket_id=None)
    calls = [r for r in caplog.records if r.getMessage().startswith("model call")]
    assert [(r.model, r.outcome) for r in calls] == [("log-a", "server_error"), ("log-b", "ok")]
    # the text format (make run) says which call it was, not 30 identical lines
    assert calls[0].getMessage().startswith("model call log-router/faq -> log-a: server_error in ")
    assert calls[1].getMessage().startswith("model call log-router/faq -> log-b: ok in ")
    assert all(r.task == "faq" and r.router == "log-router" and isinstance(r.latency_ms, int) for r in calls)
    assert secret_text not in caplog.text and "stub-secret-key" not in caplog.text


UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there: every operation is refused
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True},
    }
}


def test_a_request_is_served_while_the_shared_cache_is_unreachable(router, stub_openai, settings):
    """Redis restarting: the routing state reads as empty (breakers closed) and the call goes on."""
    settings.CACHES = UNREACHABLE_REDIS
    stub_openai.set_default("model-a", server_error())

    result = route(router, MESSAGES, task="classify")

    assert result.served_by == "model-b"
    assert [a.outcome for a in result.attempts] == ["server_error", "ok"]
    assert ModelCall.objects.filter(outcome="ok", model_slug="model-b").count() == 1
