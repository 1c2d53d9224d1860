"""Registers the built-in local models: the offline tier that triages with no API key and no network.

Registration only constructs five small objects; the fitted pipelines load (or train and cache) on
the first reply, once per process, behind a lock (see ``store.trained_models``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from triage.local_models.brief import BriefWriter
from triage.local_models.classifier import TicketClassifier
from triage.local_models.drafter import ReplyDrafter
from triage.local_models.registry import LocalModel
from triage.local_models.support_bot import SupportBot
from triage.local_models.urgency import UrgencyScorer
from triage.ticket_text import TicketText, ticket_message

WARM_UP_TICKET = TicketText(subject="Warm-up", body="The dashboard shows an error since this morning.")


def builtin_models() -> list[LocalModel]:
    return [TicketClassifier(), UrgencyScorer(), ReplyDrafter(), BriefWriter(), SupportBot()]


def register_builtin_models(register: Callable[[LocalModel], None]) -> None:
    """Register every built-in local model. Must be cheap: models load lazily on first reply."""
    for model in builtin_models():
        register(model)


def local_models_warm() -> float:
    """Give every built-in model one reply, so what they load on first use (the fitted pipelines,
    the FAQ index, VADER's lexicon) is loaded now and the first real ticket isn't half a second
    slower than the rest. Returns the seconds it took."""
    started = time.perf_counter()
    messages = [{"role": "user", "content": ticket_message(WARM_UP_TICKET)}]
    for model in builtin_models():
        model.reply(messages, task=min(model.tasks) if model.tasks else None)
    return time.perf_counter() - started
