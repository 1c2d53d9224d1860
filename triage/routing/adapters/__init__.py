"""Provider adapters: how a request reaches a model of one provider kind.

Each adapter is a small object with one protocol (complete, stream, classify an error); the router
loops over candidates and asks the model's adapter, never ``if model is local``. A new provider kind
(a native API, a cloud SDK) is one module with one adapter class and one line in ``ADAPTERS``.

Adapters never choose models, never retry (the router is the only failover loop) and never log or
store an API key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from openai.types.chat import ChatCompletionChunk

from triage.routing.adapters.base import CallFailure, Completion, Request, Usage
from triage.routing.adapters.local import LocalModels
from triage.routing.adapters.openai_compatible import OpenAICompatible
from triage.routing.config import ModelSpec


class ProviderAdapter(Protocol):
    label: str  # shown in the admin's provider kind choices
    # In-process models: never skipped for a key, a cooldown or the deadline, so they are the last
    # resort; they have no circuit breaker.
    always_available: bool

    def unavailable(self, model: ModelSpec) -> str | None:
        """Why ``model`` can't be called here (its API key variable is unset), or None."""
        ...

    def serves(self, model: ModelSpec, task: str | None) -> bool:
        """Whether ``model`` can answer requests of ``task`` (None: an unclassified request)."""
        ...

    def request_shape(self, model: ModelSpec, request: Request, *, streaming: bool) -> str:
        """What the provider could refuse about this request ("" for none): the router skips a
        request of a shape the model refused until the model is edited."""
        ...

    def complete(self, model: ModelSpec, request: Request, *, timeout: float) -> Completion:
        """One answer; raises :class:`CallFailure` (classified) on any failure."""
        ...

    def stream(
        self, model: ModelSpec, request: Request, *, timeout: float, first_token_timeout: float
    ) -> Iterator[ChatCompletionChunk]:
        """The answer's chunks as they come; raises :class:`CallFailure` on any failure."""
        ...


ADAPTERS: dict[str, ProviderAdapter] = {
    "openai": OpenAICompatible(),
    "local": LocalModels(),
}


def adapter_for(kind: str) -> ProviderAdapter:
    """The adapter of a provider kind (a kind nobody registered can't be called: KeyError)."""
    return ADAPTERS[kind]


def provider_kind_choices() -> list[tuple[str, str]]:
    """The admin's choices for ``Provider.kind``: every registered adapter."""
    return [(kind, adapter.label) for kind, adapter in ADAPTERS.items()]


__all__ = [
    "ADAPTERS",
    "CallFailure",
    "Completion",
    "ProviderAdapter",
    "Request",
    "Usage",
    "adapter_for",
    "provider_kind_choices",
]
