"""The admin's view of a model's circuit breaker (read-only; never changes breaker state)."""

from __future__ import annotations

import time

from django.core.cache import cache

from triage.models import LLMModel, Provider
from triage.routing.adapters import ADAPTERS
from triage.routing.breaker import breaker_describe, health_key


def provider_in_process(provider: Provider) -> bool:
    """Whether the provider's adapter is always available (the local tier: no key, no breaker)."""
    adapter = ADAPTERS.get(provider.kind)
    return adapter is not None and adapter.always_available


def breaker_summary(model: LLMModel) -> str:
    if provider_in_process(model.provider):
        return "never opens (local)"
    if not model.provider.key_is_set():
        return f"skipped: {model.provider.api_key_env} is not set"
    return breaker_describe(cache.get(health_key(model.pk)), time.time())
