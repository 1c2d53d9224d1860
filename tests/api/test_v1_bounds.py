"""/v1/chat/completions bounds: max_tokens within the target's context window and the server's cap,
message count and total characters limited; over any of them is a 400 naming the parameter."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import post_json
from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import StubOpenAI, answer

pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "What are your support hours?"}]


@pytest.fixture
def small_models(make_model: Any, make_router: Any, stub_openai: StubOpenAI) -> None:
    for slug, window in (("small-4k", 4096), ("medium-8k", 8000), ("huge-1m", 1_000_000)):
        model = make_model(slug)
        model.context_window = window
        model.save()  # (a save, not update(): the routing snapshot follows saves)
        stub_openai.set_default(slug, answer("We are open 9-5 UTC."))
    make_router(
        "small-router",
        tasks={"general_faq": TaskSpec(pool=["small-4k"], description="Support hours and FAQs")},
        fallbacks=["medium-8k"],
    )


def _chat(api: Client, **body: Any) -> Any:
    return post_json(api, "/v1/chat/completions", {"messages": HELLO, **body})


def _refused(response: Any, param: str, code: str) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["param"] == param and error["code"] == code and error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"{param}:")
    return error


def test_max_tokens_may_not_exceed_a_direct_models_context_window(api: Client, small_models: None) -> None:
    error = _refused(_chat(api, model="small-4k", max_tokens=4097), "max_tokens", "max_tokens_too_large")
    assert "4096" in error["message"] and "context window" in error["message"]
    _refused(
        _chat(api, model="model:small-4k", max_completion_tokens=5000),
        "max_completion_tokens",
        "max_tokens_too_large",
    )
    assert _chat(api, model="small-4k", max_tokens=4000).status_code == 200  # prompt + 4000 fit 4096


def test_a_routers_bound_is_the_largest_context_window_among_its_models(
    api: Client, small_models: None
) -> None:
    error = _refused(
        _chat(api, model="router:small-router", task="general_faq", max_tokens=8001),
        "max_tokens",
        "max_tokens_too_large",
    )
    assert "8000" in error["message"] and "small-router" in error["message"]
    # within the bound: the 4k pool model can't fit it (skipped, no call), the 8k fallback answers
    ok = _chat(api, model="router:small-router", task="general_faq", max_tokens=7900)
    assert ok.status_code == 200 and ok.json()["model"] == "medium-8k"


def test_the_server_cap_applies_below_a_large_context_window(
    api: Client, small_models: None, settings: Any
) -> None:
    error = _refused(_chat(api, model="huge-1m", max_tokens=16385), "max_tokens", "max_tokens_too_large")
    assert "16384" in error["message"] and "TRIAGE_V1_MAX_TOKENS" in error["message"]
    settings.TRIAGE_V1_MAX_TOKENS = 100
    _refused(_chat(api, model="huge-1m", max_tokens=101), "max_tokens", "max_tokens_too_large")
    assert _chat(api, model="huge-1m", max_tokens=100).status_code == 200


def test_too_many_messages_are_refused(api: Client, small_models: None, settings: Any) -> None:
    many = [{"role": "user", "content": "hi"}] * 101
    error = _refused(_chat(api, model="huge-1m", messages=many), "messages", "too_many_messages")
    assert "101" in error["message"] and "100" in error["message"]
    settings.TRIAGE_V1_MAX_MESSAGES = 3
    _refused(_chat(api, model="huge-1m", messages=HELLO * 4), "messages", "too_many_messages")
    assert _chat(api, model="huge-1m", messages=HELLO * 3).status_code == 200


def test_too_many_characters_in_all_messages_are_refused(
    api: Client, small_models: None, settings: Any
) -> None:
    half = "x" * (128 * 1024)
    over = [{"role": "system", "content": half}, {"role": "user", "content": half + "y"}]
    error = _refused(_chat(api, model="huge-1m", messages=over), "messages", "messages_too_large")
    assert str(256 * 1024) in error["message"]
    settings.TRIAGE_V1_MAX_CHARS = 50
    _refused(
        _chat(api, model="huge-1m", messages=[{"role": "user", "content": "z" * 51}]),
        "messages",
        "messages_too_large",
    )
    assert _chat(api, model="huge-1m", messages=[{"role": "user", "content": "z" * 50}]).status_code == 200
