"""Pure logic of capability profiles: the request built, its shape, the budget, the price, the outcomes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import httpx2
import openai

from triage.models import CallOutcome
from triage.routing.adapters.base import Request
from triage.routing.adapters.openai_compatible import classify_error, request_options, request_shape
from triage.routing.config import ModelSpec
from triage.routing.pricing import call_cost
from triage.routing.profile import Usage, context_overflow, token_budget, usage_cost

CHAT = ModelSpec(
    id=1, slug="chat", provider_id=1, provider_name="p", kind="openai", base_url="http://x", api_key_env="",
    timeout_seconds=5.0, input_price_per_m=Decimal("1"), output_price_per_m=Decimal("4"),
    supports_json_mode=True, context_window=1_000, usable=True,
)  # fmt: skip
REASONING = replace(
    CHAT,
    slug="reasoner",
    token_limit_parameter="max_completion_tokens",
    accepts_temperature=False,
    reasoning_effort="low",
    reasoning_token_allowance=500,
    cached_input_price_per_m=Decimal("0.1"),
)
REQUEST = Request(
    messages=[{"role": "user", "content": "hi"}], task="t", json_mode=True, max_tokens=100, temperature=0
)


def test_a_chat_model_gets_max_tokens_and_the_temperature() -> None:
    options = request_options(CHAT, REQUEST, streaming=False)
    assert options["max_tokens"] == 100 and options["temperature"] == 0
    assert options["response_format"] == {"type": "json_object"}
    assert "max_completion_tokens" not in options and "reasoning_effort" not in options


def test_a_reasoning_model_gets_its_allowance_on_top_and_no_temperature() -> None:
    request = replace(REQUEST, reasoning_effort="minimal")
    options = request_options(REASONING, request, streaming=False)
    assert options["max_completion_tokens"] == 600 and "max_tokens" not in options
    assert "temperature" not in options and options["reasoning_effort"] == "minimal"


def test_stream_options_only_where_the_profile_says_usage_is_reported() -> None:
    assert request_options(CHAT, REQUEST, streaming=True)["stream_options"] == {"include_usage": True}
    assert "stream_options" not in request_options(replace(CHAT, stream_usage=False), REQUEST, streaming=True)


def test_the_request_shape_names_the_parameters_not_their_values() -> None:
    shape = request_shape(
        request_options(REASONING, replace(REQUEST, reasoning_effort="low"), streaming=False)
    )
    assert shape == "max_completion_tokens,reasoning_effort=low,response_format"
    assert request_shape(request_options(CHAT, replace(REQUEST, max_tokens=7), streaming=False)) == (
        request_shape(request_options(CHAT, REQUEST, streaming=False))
    )
    assert request_shape(request_options(CHAT, REQUEST, streaming=True)) != (
        request_shape(request_options(CHAT, REQUEST, streaming=False))
    )


def test_budget_and_context_window() -> None:
    assert token_budget(REASONING, 100) == 600 and token_budget(CHAT, 100) == 100
    assert token_budget(REASONING, None) is None
    assert context_overflow(CHAT, 900, 100) == ""
    assert "context window of 1000" in context_overflow(CHAT, 901, 100)


def test_cached_prompt_tokens_cost_the_cached_price_and_reasoning_is_output() -> None:
    usage = Usage(
        prompt_tokens=1_000, completion_tokens=300, estimated=False, reasoning_tokens=200, cached_tokens=600
    )
    # 400 fresh at $1, 600 cached at $0.1, 300 out (200 of them reasoning) at $4, per 1M
    assert usage_cost(REASONING, usage) == Decimal("0.00166")
    # no cached price in the catalog: cached tokens cost the input price
    assert usage_cost(CHAT, usage) == Decimal("0.0022")
    # a provider reporting more cached tokens than prompt tokens can't make a call cost less than $0
    free_cache = {"cached_input_price_per_m": Decimal("0"), "output_price_per_m": Decimal("0")}
    cost = call_cost(
        input_price_per_m=Decimal("1"), prompt_tokens=10, completion_tokens=0, cached_tokens=50, **free_cache
    )
    assert cost == Decimal("0")


def _status_error(status: int, error: dict) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://x/v1/chat/completions")
    response = httpx2.Response(status, json={"error": error}, request=request)
    cls = {400: openai.BadRequestError, 404: openai.NotFoundError, 422: openai.UnprocessableEntityError}.get(
        status, openai.APIStatusError
    )
    return cls(error.get("message", ""), response=response, body={"error": error})


def test_a_4xx_naming_our_request_is_request_rejected_with_the_providers_message() -> None:
    unsupported = {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model.",
        "type": "invalid_request_error",
        "param": "max_tokens",
    }
    failure = classify_error(_status_error(400, unsupported))
    assert failure.outcome == CallOutcome.REQUEST_REJECTED
    assert "HTTP 400 invalid_request_error: Unsupported parameter: 'max_tokens'" in failure.message
    not_found = {"message": "The model `gpt-6` does not exist", "type": "invalid_request_error"}
    assert classify_error(_status_error(404, not_found)).outcome == CallOutcome.REQUEST_REJECTED
    assert (
        classify_error(_status_error(422, {"message": "bad value", "param": "temperature"})).outcome
        == CallOutcome.REQUEST_REJECTED
    )
    too_long = {"message": "maximum context length is 8192 tokens", "code": "context_length_exceeded"}
    assert classify_error(_status_error(400, too_long)).outcome == CallOutcome.CONTEXT_TOO_LONG
    assert classify_error(_status_error(503, {"message": "overloaded"})).outcome == CallOutcome.SERVER_ERROR


def test_a_4xx_about_this_requests_content_is_bad_request_and_not_remembered() -> None:
    content_filter = {
        "message": "Your request was flagged by our content filter.",
        "type": "invalid_request_error",
    }
    assert classify_error(_status_error(400, content_filter)).outcome == CallOutcome.BAD_REQUEST
    anthropic_long = {
        "message": "prompt is too long: 210000 tokens > 200000 maximum",
        "type": "invalid_request_error",
    }
    assert classify_error(_status_error(400, anthropic_long)).outcome == CallOutcome.CONTEXT_TOO_LONG
    named = {
        "message": "Invalid value for 'reasoning_effort'.",
        "type": "invalid_request_error",
        "param": "reasoning_effort",
    }
    assert classify_error(_status_error(400, named)).outcome == CallOutcome.REQUEST_REJECTED


def test_usage_a_provider_reports_wrongly_is_estimated_instead() -> None:
    from types import SimpleNamespace

    from triage.routing.adapters.base import reported_usage

    messages = [{"role": "user", "content": "hello there"}]
    for bad in ("n/a", -1, 10**12, 1e40):
        usage = reported_usage(
            SimpleNamespace(prompt_tokens=5, completion_tokens=bad), messages=messages, content="hi"
        )
        assert usage.estimated and usage.completion_tokens > 0 and usage.prompt_tokens > 0
    good = reported_usage(
        SimpleNamespace(prompt_tokens=5, completion_tokens=3), messages=messages, content="hi"
    )
    assert (good.prompt_tokens, good.completion_tokens, good.estimated) == (5, 3, False)
