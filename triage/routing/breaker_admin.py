"""The admin's view of a model's circuit breaker (read-only; never changes breaker state)."""

from __future__ import annotations

import time

from django.core.cache import cache

from triage.models import LLMModel
from triage.routing.breaker import breaker_describe, health_key


def breaker_summary(model: LLMModel) -> str:
    if model.provider.is_local:
        return "never opens (local)"
    if not model.provider.key_is_set():
        return f"skipped: {model.provider.api_key_env} is not set"
    return breaker_describe(cache.get(health_key(model.pk)), time.time())
