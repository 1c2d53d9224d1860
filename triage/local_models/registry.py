"""The interface between the routing service and in-process local models.

A local model answers a chat request with text, exactly like a remote model would; the routing
service wraps that text in an OpenAI-shaped response, accounts for it and validates it.
This module must never import the routing service (the dependency goes the other way).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Protocol

Message = Mapping[str, str]


class LocalModel(Protocol):
    slug: str
    # Task names this model can serve; an empty set means it answers any request (general chat).
    tasks: frozenset[str]

    def reply(self, messages: Sequence[Message], *, task: str | None) -> str:
        """Answer the chat; raise ValueError for a request it can't handle."""
        ...


_models: dict[str, LocalModel] = {}
_lock = threading.Lock()
_loaded = False


def register_local_model(model: LocalModel) -> None:
    _models[model.slug] = model


def unregister_local_model(slug: str) -> None:
    _models.pop(slug, None)


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        # Built-in models register on first lookup, so importing the app never trains anything.
        from triage.local_models.builtin import register_builtin_models

        register_builtin_models(register_local_model)
        _loaded = True


def get_local_model(slug: str) -> LocalModel | None:
    _ensure_loaded()
    return _models.get(slug)


def local_model_serves(model: LocalModel, task: str | None) -> bool:
    """Its own tasks; a model with none answers any request except those it declares it refuses."""
    if task is not None and task in getattr(model, "refuses", frozenset()):
        return False
    return not model.tasks or (task is not None and task in model.tasks)
