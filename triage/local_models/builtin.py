"""Registers the built-in local models (filled in by the offline-tier issue)."""

from __future__ import annotations

from collections.abc import Callable

from triage.local_models.registry import LocalModel


def register_builtin_models(register: Callable[[LocalModel], None]) -> None:
    """Register every built-in local model. Must be cheap: models load lazily on first reply."""
