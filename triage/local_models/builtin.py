"""Registers the built-in local models: the offline tier that triages with no API key and no network.

Registration only constructs five small objects; the fitted pipelines load (or train and cache) on
the first reply, once per process, behind a lock (see ``store.trained_models``).
"""

from __future__ import annotations

from collections.abc import Callable

from triage.local_models.brief import BriefWriter
from triage.local_models.classifier import TicketClassifier
from triage.local_models.drafter import ReplyDrafter
from triage.local_models.registry import LocalModel
from triage.local_models.support_bot import SupportBot
from triage.local_models.urgency import UrgencyScorer


def builtin_models() -> list[LocalModel]:
    return [TicketClassifier(), UrgencyScorer(), ReplyDrafter(), BriefWriter(), SupportBot()]


def register_builtin_models(register: Callable[[LocalModel], None]) -> None:
    """Register every built-in local model. Must be cheap: models load lazily on first reply."""
    for model in builtin_models():
        register(model)
