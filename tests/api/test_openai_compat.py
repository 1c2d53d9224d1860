"""/v1: the routers through the official openai SDK and a plain SSE client, against a live server."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
import requests
from django.test import Client

from tests.api.conftest import post_json
from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import StubOpenAI, answer, server_error
from triage.models import ModelCall

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bot_router(make_model: Any, make_router: Any, stub_openai: StubOpenAI) -> Any:
    make_model("stub-cheap", input_price="0.05", output_price="0.40")
    make_model("stub-smart", input_price="3", output_price="15")
    stub_openai.set_default("stub-cheap", answer("We are open 9-5 UTC, Monday to Friday."))
    stub_openai.set_default("stub-smart", answer("Check the pod's memory limits first."))
    return make_router(
        "support-bot-router",
        tasks={
            "general_faq": TaskSpec(
                pool=["stub-cheap"],
                description="Simple questions: support hours, payment methods, password resets",
                utterances=["What are your support hours?", "What payment methods do you accept?"],
            ),
            "technical_troubleshooting": TaskSpec(
                pool=["stub-smart"],
                description="Kubernetes errors, GPU memory, crashing pods, API debugging",
                utterances=["My pod keeps crashing with OOMKilled", "CUDA out of memory on my GPU"],
            ),
        },
        fallbacks=["stub-smart"],
    )


@pytest.fixture
def sdk(live_server: Any, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=api_key, max_retries=0)


def test_sdk_call_returns_the_serving_model_and_the_matched_task(sdk: openai.OpenAI, bot_router: Any) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model="router:support-bot-router",
        messages=[{"role": "user", "content": "What are your support hours?"}],
        extra_body={"task": "general_faq"},
    )
    completion = raw.parse()
    assert completion.model == "stub-cheap"
    assert completion.choices[0].message.content == "We are open 9-5 UTC, Monday to Friday."
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert raw.headers["x-model-router-selected-route"] == "general_faq"
    assert completion.model_extra is not None and completion.model_extra["route"] == "general_faq"
    assert ModelCall.objects.filter(model_slug="stub-cheap", outcome="ok", ticket=None).count() == 1


def test_task_hint_overrides_classification(sdk: openai.OpenAI, bot_router: Any) -> None:
    completion = sdk.chat.completions.create(
        model="router:support-bot-router",
        messages=[{"role": "user", "content": "What are your support hours?"}],
        extra_body={"task": "technical_troubleshooting"},
    )
    assert completion.model == "stub-smart"


def test_sdk_streaming_yields_chunks_from_the_serving_model(sdk: openai.OpenAI, bot_router: Any) -> None:
    stream = sdk.chat.completions.create(
        model="router:support-bot-router",
        messages=[{"role": "user", "content": "What are your support hours?"}],
        extra_body={"task": "general_faq"},
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "We are open 9-5 UTC, Monday to Friday."
    assert {c.model for c in chunks} == {"stub-cheap"}
    assert len({c.id for c in chunks}) == 1  # one stream, one id: the usage chunk's too, as OpenAI's
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_content_as_a_list_of_text_parts_is_read_like_a_string(
    sdk: openai.OpenAI, bot_router: Any, api: Client
) -> None:
    """OpenAI's content-parts form, which SDK users send for text too; only text parts are taken."""
    parts = [{"type": "text", "text": "What are your"}, {"type": "text", "text": "support hours?"}]
    completion = sdk.chat.completions.create(
        model="router:support-bot-router",
        messages=[{"role": "user", "content": parts}],  # type: ignore[list-item, misc]
        extra_body={"task": "general_faq"},
    )
    assert completion.choices[0].message.content == "We are open 9-5 UTC, Monday to Friday."
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    mixed = [{"role": "user", "content": [parts[0], image]}]
    body = {"model": "router:support-bot-router", "messages": mixed}
    response = post_json(api, "/v1/chat/completions", body)
    assert response.status_code == 400 and response.json()["error"]["param"] == "messages[0].content[1]"


def test_plain_sse_client_like_the_articles_bot(live_server: Any, api_key: str, bot_router: Any) -> None:
    response = requests.post(
        f"{live_server.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        json={
            "model": "router:support-bot-router",
            "messages": [
                {"role": "system", "content": "You are a helpful customer support assistant."},
                {"role": "user", "content": "What are your support hours?"},
            ],
            "stream": True,
            "task": "general_faq",
        },
        stream=True,
        timeout=30,
    )
    assert response.headers["Content-Type"].startswith("text/event-stream")
    models, content, done = set(), "", False
    for line in response.iter_lines():
        if not line:
            continue
        decoded = line.decode("utf-8")
        if decoded == "data: [DONE]":
            done = True
            break
        assert decoded.startswith("data: ")
        chunk = json.loads(decoded[6:])
        models.add(chunk.get("model", "unknown"))
        if chunk.get("choices"):
            content += chunk["choices"][0]["delta"].get("content", "")
    assert done and content == "We are open 9-5 UTC, Monday to Friday." and models == {"stub-cheap"}


def test_affinity_pins_the_session_to_the_first_model(
    live_server: Any, api_key: str, bot_router: Any, stub_openai: StubOpenAI
) -> None:
    client = openai.OpenAI(
        base_url=f"{live_server.url}/v1",
        api_key=api_key,
        max_retries=0,
        default_headers={"X-Model-Affinity": "session-42"},
    )
    first = client.chat.completions.create(
        model="router:support-bot-router",
        messages=[{"role": "user", "content": "My Kubernetes pod keeps crashing with OOMKilled errors"}],
    )
    second = client.chat.completions.create(
        model="router:support-bot-router",
        messages=[{"role": "user", "content": "What are your support hours?"}],
    )
    assert first.model == second.model == "stub-smart"
    assert first.model_extra is not None and first.model_extra["pinned"] is False
    assert second.model_extra is not None and second.model_extra["pinned"] is True


def test_models_lists_routers_and_enabled_models(sdk: openai.OpenAI, bot_router: Any) -> None:
    ids = {m.id for m in sdk.models.list()}
    assert "router:support-bot-router" in ids and {"stub-cheap", "stub-smart"} <= ids


def test_every_model_failing_is_an_openai_shaped_error(
    sdk: openai.OpenAI, bot_router: Any, stub_openai: StubOpenAI
) -> None:
    stub_openai.set_default("stub-cheap", server_error(500))
    stub_openai.set_default("stub-smart", server_error(503))
    with pytest.raises(openai.APIStatusError) as info:
        sdk.chat.completions.create(
            model="router:support-bot-router",
            messages=[{"role": "user", "content": "hours?"}],
            extra_body={"task": "general_faq"},
        )
    assert info.value.status_code == 502
    assert "stub-cheap" in info.value.message and "server_error" in info.value.message


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": "router:nope", "messages": [{"role": "user", "content": "hi"}]}, 404, "model"),
        ({"model": "gpt-unknown", "messages": [{"role": "user", "content": "hi"}]}, 404, "model"),
        ({"model": "router:support-bot-router", "messages": []}, 400, "messages"),
        ({"model": "router:support-bot-router", "messages": "hi"}, 400, "messages"),
        (
            {"model": "router:support-bot-router", "messages": [{"role": "user", "content": 3}]},
            400,
            "messages[0].content",
        ),  # fmt: skip
        (
            {"model": "router:support-bot-router", "messages": [{"role": "robot", "content": "hi"}]},
            400,
            "messages[0].role",
        ),  # fmt: skip
        (
            {"model": "router:support-bot-router", "messages": [{"role": "user", "content": "hi"}], "n": 2},
            400,
            "n",
        ),
        (
            {
                "model": "router:support-bot-router",
                "messages": [{"role": "user", "content": "hi"}],
                "task": "x",
            },
            400,
            "task",
        ),  # fmt: skip
        ({"messages": [{"role": "user", "content": "hi"}]}, 400, "model"),
    ],
)
def test_bad_requests_get_openai_shaped_errors(
    api: Client, bot_router: Any, body: dict[str, Any], status: int, param: str
) -> None:
    response = post_json(api, "/v1/chat/completions", body)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["param"] == param and error["message"] and error["type"]


def test_invalid_json_and_missing_key(api: Client, client: Client, bot_router: Any) -> None:
    assert api.post("/v1/chat/completions", data="{", content_type="application/json").status_code == 400
    response = post_json(
        client, "/v1/chat/completions", {"model": "router:support-bot-router", "messages": []}
    )
    assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"


def test_a_catalog_model_can_be_called_directly_with_accounting(
    sdk: openai.OpenAI, bot_router: Any, stub_openai: StubOpenAI
) -> None:
    completion = sdk.chat.completions.create(
        model="stub-smart", messages=[{"role": "user", "content": "Why is my pod crashing?"}]
    )
    assert completion.model == "stub-smart"
    assert completion.choices[0].message.content == "Check the pod's memory limits first."
    call = ModelCall.objects.get(model_slug="stub-smart", outcome="ok")
    assert call.router is None and call.cost > 0


def test_streaming_says_which_task_matched_in_a_header(
    live_server: Any, api_key: str, bot_router: Any
) -> None:
    response = requests.post(
        f"{live_server.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {api_key}"},
        json={
            "model": "router:support-bot-router",
            "messages": [{"role": "user", "content": "What are your support hours?"}],
            "stream": True,
            "task": "general_faq",
        },
        stream=True,
        timeout=30,
    )
    assert response.headers["x-model-router-selected-route"] == "general_faq"
    assert b"data: [DONE]" in response.content
