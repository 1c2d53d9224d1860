"""``local/ticket-classifier``: the ticket's category from its subject and body.

A scikit-learn pipeline (word 1-2-gram and character 2-5-gram TF-IDF into a logistic regression
averaged with its naive-Bayes-scaled twin and a complement naive Bayes, ``nb_logistic``) trained
on the shipped labeled set (see ``store``); the confidence is the model's probability for the
chosen category, halved for a ticket in a language the model wasn't trained on (so a cascade sends
it on). When the system prompt lists the router's categories, only those are chosen.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from triage.local_models.language import OUT_OF_LANGUAGE_FACTOR, detect_language
from triage.local_models.registry import Message
from triage.local_models.store import category_input, trained_models
from triage.local_models.text import categories_from_prompt, ticket_from_messages, ticket_text
from triage.ticket_text import TicketText

TASK = "classify_ticket"


@dataclass(frozen=True)
class Classification:
    category: str
    confidence: float


def classify(ticket: TicketText, *, allowed: Sequence[str] | None = None) -> Classification:
    model = trained_models().category
    probabilities = model.predict_proba(category_input(ticket))
    labels = [str(label) for label in model.classes]
    scored = dict(zip(labels, (float(p) for p in probabilities), strict=True))
    candidates = [label for label in (allowed or labels) if label in scored] or labels
    total = sum(scored[label] for label in candidates) or 1.0
    best = max(candidates, key=lambda label: scored[label])
    confidence = scored[best] / total
    if not detect_language(ticket_text(ticket)).known_to_local_models:
        confidence *= OUT_OF_LANGUAGE_FACTOR
    return Classification(category=best, confidence=round(confidence, 3))


class TicketClassifier:
    slug = "local/ticket-classifier"
    tasks = frozenset({TASK})

    def reply(self, messages: Sequence[Message], *, task: str | None) -> str:
        if task != TASK:
            raise ValueError(f"{self.slug} only serves {TASK}, not {task!r}")
        result = classify(ticket_from_messages(messages), allowed=categories_from_prompt(messages))
        return json.dumps({"category": result.category, "confidence": result.confidence})
