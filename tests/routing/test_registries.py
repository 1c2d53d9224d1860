"""Provider kinds and selection policies are registries: a new one is a module and one registry line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import answer
from triage.models import CallOutcome, LLMModel, ModelCall, Provider
from triage.routing import config_bump_version, route, route_stream
from triage.routing.adapters import ADAPTERS, CallFailure, Completion, Request, Usage, provider_kind_choices
from triage.routing.config import ModelSpec
from triage.routing.policies import POLICIES, policy_choices

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "user", "content": "where is my parcel?"}]


class ShoutingAdapter:
    """A toy provider kind: answers in capitals, in process, reporting its own token counts."""

    label = "Shouting test provider"
    always_available = False

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.down = False

    def unavailable(self, model: ModelSpec) -> str | None:
        return None

    def serves(self, model: ModelSpec, task: str | None) -> bool:
        return True

    def request_shape(self, model: ModelSpec, request: Request, *, streaming: bool) -> str:
        return ""

    def complete(self, model: ModelSpec, request: Request, *, timeout: float) -> Completion:
        self.requests.append(request)
        if self.down:
            raise CallFailure(CallOutcome.SERVER_ERROR, "toy provider is down")
        text = str(request.messages[-1]["content"]).upper()
        raw = ChatCompletion(
            id="toy-1",
            object="chat.completion",
            created=int(time.time()),
            model=model.slug,
            choices=[
                Choice(
                    index=0,
                    finish_reason="stop",
                    message=ChatCompletionMessage(role="assistant", content=text),
                )
            ],
        )
        return Completion(text, Usage(11, 7, estimated=False), "stop", raw)

    def stream(
        self, model: ModelSpec, request: Request, *, timeout: float, first_token_timeout: float
    ) -> Iterator[ChatCompletionChunk]:
        completion = self.complete(model, request, timeout=timeout)
        for word in completion.content.split(" "):
            delta = ChoiceDelta(role="assistant", content=word + " ")
            yield ChatCompletionChunk(
                id="toy-1",
                object="chat.completion.chunk",
                created=0,
                model=model.slug,
                choices=[ChunkChoice(index=0, delta=delta, finish_reason=None)],
            )
        yield ChatCompletionChunk(
            id="toy-1",
            object="chat.completion.chunk",
            created=0,
            model=model.slug,
            choices=[ChunkChoice(index=0, delta=ChoiceDelta(), finish_reason="stop")],
        )


@pytest.fixture
def toy_adapter(monkeypatch: pytest.MonkeyPatch) -> ShoutingAdapter:
    adapter = ShoutingAdapter()
    monkeypatch.setitem(ADAPTERS, "shouting", adapter)
    return adapter


@pytest.fixture
def toy_model(toy_adapter: ShoutingAdapter) -> LLMModel:
    provider = Provider.objects.create(name="Shouting", kind="shouting")
    return LLMModel.objects.create(
        slug="shout-1", provider=provider, input_price_per_m=Decimal("1"), output_price_per_m=Decimal("1")
    )


def test_a_registered_provider_kind_is_routed_through_its_adapter(toy_model, toy_adapter, make_router):
    router = make_router(tasks={"chat": TaskSpec(pool=["shout-1"])})

    result = route(router, MESSAGES, task="chat")

    assert result.served_by == "shout-1" and result.content == "WHERE IS MY PARCEL?"
    assert (result.prompt_tokens, result.completion_tokens, result.tokens_estimated) == (11, 7, False)
    assert result.cost == Decimal("0.000018")
    assert toy_adapter.requests[-1].task == "chat"
    row = ModelCall.objects.filter(model_slug="shout-1", outcome="ok").last()
    assert row is not None and row.cost == Decimal("0.000018") and row.tokens_estimated is False


def test_a_toy_provider_that_fails_is_failed_over_and_streams_through_the_same_loop(
    toy_model, toy_adapter, make_model, make_router, stub_openai
):
    make_model("backup")
    stub_openai.set_default("backup", answer("from the backup"))
    router = make_router(tasks={"chat": TaskSpec(pool=["shout-1", "backup"])})
    toy_adapter.down = True

    result = route(router, MESSAGES, task="chat")
    assert [(a.model, a.outcome) for a in result.attempts] == [("shout-1", "server_error"), ("backup", "ok")]

    toy_adapter.down = False
    events = list(route_stream(router, MESSAGES, task="chat"))
    assert "".join(e.delta for e in events if e.kind == "chunk").strip() == "WHERE IS MY PARCEL?"
    assert events[-1].kind == "done" and events[-1].result.served_by == "shout-1"


def test_the_admin_offers_every_registered_kind_and_policy(toy_adapter):
    assert ("shouting", "Shouting test provider") in provider_kind_choices()
    assert [name for name, _ in provider_kind_choices()][:2] == ["openai", "local"]
    assert {name for name, _ in policy_choices()} == {"lowest_cost", "lowest_latency", "manual_ranking"}
    assert Provider._meta.get_field("kind").choices == provider_kind_choices()


def test_a_provider_whose_kind_has_no_adapter_is_skipped_not_fatal(make_model, make_router, stub_openai):
    gone = Provider.objects.create(name="Removed plugin", kind="removed-plugin")
    LLMModel.objects.create(slug="orphan", provider=gone)
    make_model("healthy")
    stub_openai.set_default("healthy", answer("fine"))
    router = make_router(tasks={"chat": TaskSpec(pool=["orphan", "healthy"])})

    result = route(router, MESSAGES, task="chat")

    assert result.served_by == "healthy"
    assert result.attempts[0].outcome == "skipped_unconfigured"
    assert "no adapter for provider kind 'removed-plugin'" in result.attempts[0].error


class ReverseAlphabetical:
    label = "Reverse alphabetical (test)"
    needs_latency = False

    def order(self, task, pool, state):
        return sorted((entry.model for entry in pool), key=lambda m: m.slug, reverse=True)


def test_a_registered_policy_orders_the_pool(make_model, make_router, stub_openai, monkeypatch):
    monkeypatch.setitem(POLICIES, "reverse_alphabetical", ReverseAlphabetical())
    for slug in ("alpha", "omega"):
        make_model(slug)
        stub_openai.set_default(slug, answer(f"from {slug}"))
    router = make_router(tasks={"chat": TaskSpec(pool=["alpha", "omega"], policy="reverse_alphabetical")})

    assert route(router, MESSAGES, task="chat").served_by == "omega"


def test_only_policies_that_need_latency_read_latency_records(
    make_model, make_router, stub_openai, monkeypatch
):
    """Each policy declares the state it needs: the request's one cache read asks for no more."""
    from django.core.cache import cache

    make_model("fast")
    stub_openai.set_default("fast", answer("ok"))
    router = make_router(tasks={"chat": TaskSpec(pool=["fast"], policy="manual_ranking")})
    asked: list[list[str]] = []
    real_get_many = cache.get_many
    monkeypatch.setattr(
        cache, "get_many", lambda keys, *a, **k: asked.append(list(keys)) or real_get_many(keys)
    )

    route(router, MESSAGES, task="chat")  # (a new router: this process rebuilds its snapshot first)
    asked.clear()
    route(router, MESSAGES, task="chat")
    assert len(asked) == 1 and not any("latency" in key for key in asked[0])

    router.tasks.update(selection_policy="lowest_latency")
    config_bump_version()
    asked.clear()
    route(router, MESSAGES, task="chat")
    assert any("latency" in key for key in asked[-1])
    assert cache.get(f"routing:latency:{router.tasks.get().pk}:{LLMModel.objects.get(slug='fast').pk}")


def test_the_router_names_no_policy_and_asks_no_model_whether_it_is_local():
    source = (Path(__file__).resolve().parents[2] / "triage" / "routing" / "service.py").read_text()
    for name in POLICIES:
        assert f'"{name}"' not in source
    assert "is_local" not in source
