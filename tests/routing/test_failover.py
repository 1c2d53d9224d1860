"""Each failure kind fails over to the next candidate and leaves its attempt in the chain."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import (
    answer,
    delayed,
    hang,
    malformed,
    overloaded,
    rate_limited,
    server_error,
)
from triage.models import ModelCall, Provider
from triage.routing import InvalidOutput, RoutingError, route

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "user", "content": "Why was I charged twice?"}]


@pytest.fixture
def router(make_model, make_router, stub_provider):
    stub_provider.timeout_seconds = Decimal("0.5")
    stub_provider.save()
    make_model("primary", input_price="1", output_price="2")
    make_model("secondary", input_price="3", output_price="4")
    make_model("fallback", input_price="0.5", output_price="0.5")
    return make_router(tasks={"classify": TaskSpec(pool=["primary", "secondary"])}, fallbacks=["fallback"])


def chain(result_or_error) -> list[tuple[str, str]]:
    return [(a.model, a.outcome) for a in result_or_error.attempts]


@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        (server_error(500), "server_error"),
        (server_error(503), "server_error"),
        (overloaded(), "server_error"),
        (rate_limited(retry_after=5), "rate_limited"),
        (hang(5), "timeout"),
        (malformed(), "server_error"),
    ],
    ids=["500", "503", "529-overloaded", "429", "hang", "malformed-body"],
)
def test_failure_fails_over_to_next_model(router, stub_openai, behaviour, outcome):
    stub_openai.script("primary", behaviour)
    stub_openai.script("secondary", answer("fine"))

    result = route(router, MESSAGES, task="classify")

    assert result.served_by == "secondary"
    assert chain(result) == [("primary", outcome), ("secondary", "ok")]
    rows = list(ModelCall.objects.order_by("id").values_list("model_slug", "outcome"))
    assert rows == [("primary", outcome), ("secondary", "ok")]


def test_overloaded_error_names_the_kind(router, stub_openai):
    stub_openai.script("primary", overloaded())

    result = route(router, MESSAGES, task="classify")

    assert "529" in result.attempts[0].error and "overloaded" in result.attempts[0].error


def test_connection_refused_is_a_connection_error(router, make_model, make_router):
    dead = Provider.objects.create(
        name="Dead", base_url="http://127.0.0.1:9/v1", timeout_seconds=Decimal("1")
    )
    make_model("unreachable", provider=dead)
    router = make_router("r2", tasks={"t": TaskSpec(pool=["unreachable", "secondary"])})

    result = route(router, MESSAGES, task="t")

    assert chain(result) == [("unreachable", "connection_error"), ("secondary", "ok")]


def test_validator_rejection_fails_over_and_bills_the_rejected_call(router, stub_openai):
    stub_openai.script("primary", answer('{"category": "refunds"}', prompt_tokens=1000, completion_tokens=10))
    stub_openai.script("secondary", answer('{"category": "billing"}'))

    def parse(text: str) -> str:
        category = json.loads(text)["category"]
        if category not in {"billing", "bug"}:
            raise InvalidOutput(f"{category!r} is not a category")
        return category

    result = route(router, MESSAGES, task="classify", validator=parse)

    assert result.parsed == "billing"
    assert chain(result) == [("primary", "invalid_output"), ("secondary", "ok")]
    assert "'refunds' is not a category" in result.attempts[0].error
    rejected = ModelCall.objects.get(outcome="invalid_output")
    assert rejected.cost == Decimal("0.00102")  # the provider billed it even though we rejected it


def test_wrong_json_is_invalid_output(router, stub_openai):
    stub_openai.script("primary", answer("Sure! The category is billing."))
    stub_openai.script("secondary", answer('{"category": "billing"}'))

    result = route(router, MESSAGES, task="classify", validator=json.loads)

    assert chain(result) == [("primary", "invalid_output"), ("secondary", "ok")]
    assert result.parsed == {"category": "billing"}


def test_pool_exhausted_goes_to_router_fallbacks_in_order(router, stub_openai):
    stub_openai.script("primary", server_error())
    stub_openai.script("secondary", server_error())

    result = route(router, MESSAGES, task="classify")

    assert chain(result) == [("primary", "server_error"), ("secondary", "server_error"), ("fallback", "ok")]


def test_cost_is_for_the_model_that_served_after_a_fallback(router, stub_openai):
    stub_openai.script("primary", server_error())
    stub_openai.script("secondary", rate_limited(retry_after=None))
    stub_openai.script("fallback", answer("ok", prompt_tokens=1234, completion_tokens=567))

    result = route(router, MESSAGES, task="classify")

    # (1234 * 0.5 + 567 * 0.5) / 1e6, to the cent-fraction
    assert result.cost == Decimal("0.0009005")
    assert result.served_by == "fallback"
    served = ModelCall.objects.get(outcome="ok")
    assert (served.model_slug, served.cost) == ("fallback", Decimal("0.0009005"))
    assert sum(c.cost for c in ModelCall.objects.exclude(outcome="ok")) == 0


def test_request_fails_only_when_every_candidate_failed(router, stub_openai):
    for slug in ("primary", "secondary", "fallback"):
        stub_openai.script(slug, server_error())

    with pytest.raises(RoutingError) as caught:
        route(router, MESSAGES, task="classify")

    assert chain(caught.value) == [
        ("primary", "server_error"),
        ("secondary", "server_error"),
        ("fallback", "server_error"),
    ]


def test_sdk_never_retries_on_its_own(router, stub_openai):
    stub_openai.script("primary", server_error(500))

    route(router, MESSAGES, task="classify")

    assert stub_openai.request_count("primary") == 1


def test_overall_deadline_stops_slow_chain(router, stub_openai, make_router):
    slow = make_router(
        "slow-router",
        tasks={"t": TaskSpec(pool=["primary", "secondary"])},
        fallbacks=["fallback"],
        request_deadline_seconds=Decimal("1"),
    )
    stub_openai.script("primary", hang(5))
    stub_openai.script("secondary", hang(5))

    with pytest.raises(RoutingError) as caught:
        route(slow, MESSAGES, task="t")

    outcomes = chain(caught.value)
    assert outcomes[0] == ("primary", "timeout")
    assert outcomes[-1] == ("fallback", "timeout")
    assert "deadline" in caught.value.attempts[-1].error
    assert stub_openai.request_count("fallback") == 0


def test_unconfigured_key_is_skipped_without_a_network_call(
    stub_openai, monkeypatch, make_model, make_router
):
    needs_key = Provider.objects.create(
        name="Needs key", base_url=stub_openai.base_url, api_key_env="MISSING_TEST_KEY_VAR"
    )
    monkeypatch.delenv("MISSING_TEST_KEY_VAR", raising=False)
    make_model("keyed-model", provider=needs_key)
    make_model("configured")
    router = make_router("keys", tasks={"t": TaskSpec(pool=["keyed-model", "configured"])})

    result = route(router, MESSAGES, task="t")

    assert chain(result) == [("keyed-model", "skipped_unconfigured"), ("configured", "ok")]
    assert "MISSING_TEST_KEY_VAR is not set" in result.attempts[0].error
    assert stub_openai.request_count("keyed-model") == 0
    assert ModelCall.objects.filter(outcome="skipped_unconfigured").count() == 1


def test_slow_but_in_time_answer_is_accepted(router, stub_openai):
    stub_openai.script("primary", delayed(0.1, "late but fine"))

    assert route(router, MESSAGES, task="classify").content == "late but fine"
