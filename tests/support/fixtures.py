"""Pytest fixtures shared by every suite that routes requests: the stub server and its provider.

Import them into a suite's ``conftest.py``::

    from tests.support.fixtures import stub_openai, stub_provider, make_model, make_router  # noqa: F401

- ``stub_openai``: a started :class:`tests.support.stub_openai.StubOpenAI` (stopped after the test).
- ``stub_provider``: a ``Provider`` row pointing at the stub, its key variable ``STUB_API_KEY`` set
  through ``monkeypatch`` (a short per-attempt timeout, 2 s, so hang tests stay quick).
- ``make_model(slug, ...)``: a catalog entry on the stub provider (prices per 1M tokens).
- ``make_router(name, tasks={...}, fallbacks=[...])``: a router with tasks and pools in one call.
- ``test_local_model``: registers an in-process local model (``local/test-echo``) that answers
  any task, and unregisters it afterwards.
- ``provider_sim``: the stub server with per-model profiles of documented provider behaviour
  (``tests/support/provider_sim.py``).
- ``presets_on_sim``: the presets loaded, their remote providers pointed at ``provider_sim`` with
  their key variables set, and each preset model answering by its provider's profile.

Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import pytest

from tests.support.provider_sim import PRESET_PROFILES, ProviderSimulator
from tests.support.stub_openai import StubOpenAI

STUB_KEY_ENV = "STUB_API_KEY"


@pytest.fixture
def stub_openai() -> Iterator[StubOpenAI]:
    stub = StubOpenAI().start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def provider_sim() -> Iterator[ProviderSimulator]:
    sim = ProviderSimulator().start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def presets_on_sim(
    db: None, provider_sim: ProviderSimulator, monkeypatch: pytest.MonkeyPatch
) -> ProviderSimulator:
    from triage.models import Provider
    from triage.routing import config_bump_version
    from triage.services.presets import presets_load

    presets_load()
    for provider in Provider.objects.filter(kind=Provider.Kind.OPENAI_COMPATIBLE):
        monkeypatch.setenv(provider.api_key_env, "sim-secret-key")
    Provider.objects.filter(kind=Provider.Kind.OPENAI_COMPATIBLE).update(base_url=provider_sim.base_url)
    config_bump_version()  # update() sends no signal
    for slug, profile in PRESET_PROFILES.items():
        provider_sim.set_profile(slug, profile)
    return provider_sim


@pytest.fixture
def stub_provider(db: None, stub_openai: StubOpenAI, monkeypatch: pytest.MonkeyPatch) -> Any:
    from triage.models import Provider

    monkeypatch.setenv(STUB_KEY_ENV, "stub-secret-key")
    return Provider.objects.create(
        name="Stub provider",
        kind=Provider.Kind.OPENAI_COMPATIBLE,
        base_url=stub_openai.base_url,
        api_key_env=STUB_KEY_ENV,
        timeout_seconds=Decimal("2"),
    )


class MakeModel(Protocol):
    def __call__(
        self,
        slug: str,
        *,
        input_price: str = ...,
        output_price: str = ...,
        provider: Any = ...,
        supports_json_mode: bool = ...,
        enabled: bool = ...,
    ) -> Any: ...


@pytest.fixture
def make_model(stub_provider: Any) -> MakeModel:
    from triage.models import LLMModel

    def make(
        slug: str,
        *,
        input_price: str = "1",
        output_price: str = "2",
        provider: Any = None,
        supports_json_mode: bool = True,
        enabled: bool = True,
    ) -> Any:
        return LLMModel.objects.create(
            slug=slug,
            provider=provider or stub_provider,
            input_price_per_m=Decimal(input_price),
            output_price_per_m=Decimal(output_price),
            supports_json_mode=supports_json_mode,
            enabled=enabled,
        )

    return make


@dataclass
class TaskSpec:
    """Shorthand for a task in ``make_router``: ``pool`` is a list of slugs in rank order."""

    pool: Sequence[str]
    policy: str = "manual_ranking"
    description: str = ""
    utterances: Sequence[str] = field(default_factory=list)
    expected_input_tokens: int = 300
    expected_output_tokens: int = 100
    first_token_timeout: str = "10"


@pytest.fixture
def make_router(db: None) -> Any:
    from triage.models import FallbackEntry, LLMModel, PoolEntry, Router, RouterTask

    def make(
        name: str = "test-router",
        *,
        tasks: dict[str, TaskSpec] | None = None,
        fallbacks: Sequence[str] = (),
        **router_fields: Any,
    ) -> Router:
        router = Router.objects.create(name=name, **router_fields)
        for task_name, spec in (tasks or {}).items():
            task = RouterTask.objects.create(
                router=router,
                name=task_name,
                description=spec.description or f"Requests for {task_name}",
                example_utterances="\n".join(spec.utterances),
                selection_policy=spec.policy,
                expected_input_tokens=spec.expected_input_tokens,
                expected_output_tokens=spec.expected_output_tokens,
                first_token_timeout_seconds=Decimal(spec.first_token_timeout),
            )
            for rank, slug in enumerate(spec.pool, start=1):
                PoolEntry.objects.create(task=task, model=LLMModel.objects.get(slug=slug), rank=rank)
        for order, slug in enumerate(fallbacks, start=1):
            FallbackEntry.objects.create(router=router, model=LLMModel.objects.get(slug=slug), order=order)
        return router

    return make


@dataclass
class EchoLocalModel:
    """A tiny in-process model: answers ``reply_text`` (or echoes the last user message)."""

    slug: str = "local/test-echo"
    tasks: frozenset[str] = frozenset()
    reply_text: str | None = None
    calls: list[str | None] = field(default_factory=list)

    def reply(self, messages: Sequence[Any], *, task: str | None) -> str:
        self.calls.append(task)
        if self.reply_text is not None:
            return self.reply_text
        user = [m["content"] for m in messages if m.get("role") == "user"]
        if not user:
            raise ValueError("no user message to answer")
        return f"local answer to: {user[-1]}"


@pytest.fixture
def local_provider(db: None) -> Any:
    from triage.models import Provider

    return Provider.objects.create(name="Local test models", kind=Provider.Kind.LOCAL)


@pytest.fixture
def test_local_model(local_provider: Any) -> Iterator[EchoLocalModel]:
    """Registers ``local/test-echo`` (any task) in the registry and the catalog."""
    from triage.local_models.registry import register_local_model, unregister_local_model
    from triage.models import LLMModel

    model = EchoLocalModel()
    LLMModel.objects.create(slug=model.slug, provider=local_provider)
    register_local_model(model)
    try:
        yield model
    finally:
        unregister_local_model(model.slug)
