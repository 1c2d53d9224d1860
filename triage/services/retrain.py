"""Retraining the built-in local classifier and urgency scorer on agents' labels.

The candidate models are fitted like the shipped ones (``store.train``) on the shipped training
split plus agents' labels (``triage.services.labels``). Both the current models and the candidate
are then scored on the same held-back share: the shipped held-out split, plus a fixed ~20% of the
agents' labels chosen by a hash of the ticket id (so a held-back label is never trained on, in this
run or any later one), plus any agent label on a ticket whose text is in the shipped held-out split.
The candidate is adopted only when neither its category accuracy nor its urgency accuracy within
one level (the figures the local tier is judged by; exact urgency is reported too) is lower: its
agent labels are written beside the model cache (``store.adopt_agent_labels``), which every process
trains on or reads back on its next load. Each run is one ``LocalModelTraining`` row.

Run by ``manage.py retrain_local`` and weekly by Celery beat (``TRIAGE_RETRAIN_CRON``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from triage.local_models import store
from triage.local_models.store import LabeledTicket, TrainedModels
from triage.local_models.urgency import scores_of
from triage.models import LocalModelTraining
from triage.services.labels import AgentLabel, agent_labels

log = logging.getLogger(__name__)

HELD_BACK_SHARE = 5  # one agent label in five is held back for evaluation


def is_held_back(subject: str, body: str) -> bool:
    """The fixed evaluation share of agents' labels: decided by a hash of the ticket's text, so a
    ticket is always on the same side (on any database, whatever its id)."""
    digest = hashlib.sha256(f"agent-label-{_text_key(subject, body)}".encode()).hexdigest()
    return int(digest[:8], 16) % HELD_BACK_SHARE == 0


def as_labeled(label: AgentLabel) -> LabeledTicket:
    return LabeledTicket(
        id=f"ticket-{label.ticket_id}",
        subject=label.subject,
        body=label.body,
        customer_tier=label.customer_tier,
        category=label.category or "",
        urgency=label.urgency or 0,
        lang="",
        source=f"agent-{label.source}",
    )


def _text_key(subject: str, body: str) -> tuple[str, str]:
    return subject.strip().casefold(), body.strip().casefold()


def accuracy(models: TrainedModels, rows: Sequence[LabeledTicket]) -> dict[str, Any]:
    """Category accuracy, and urgency accuracy exact and within one level, of the models as served
    (the urgency scorer's steps and floors on top of the learned score) on the rows that carry each
    label; ``None`` where no row does."""
    category_rows = [r for r in rows if r.category]
    urgency_rows = [r for r in rows if r.urgency]
    result: dict[str, Any] = {
        "category": None,
        "urgency": None,
        "urgency_within_1": None,
        "category_examples": len(category_rows),
        "urgency_examples": len(urgency_rows),
    }
    if category_rows:
        predicted = models.category.predict([store.category_input(r.ticket) for r in category_rows])
        correct = sum(str(p) == r.category for p, r in zip(predicted, category_rows, strict=True))
        result["category"] = round(correct / len(category_rows), 4)
    if urgency_rows:
        scores = scores_of(models, [r.ticket for r in urgency_rows])
        exact = sum(s == r.urgency for s, r in zip(scores, urgency_rows, strict=True))
        near = sum(abs(s - r.urgency) <= 1 for s, r in zip(scores, urgency_rows, strict=True))
        result["urgency"] = round(exact / len(urgency_rows), 4)
        result["urgency_within_1"] = round(near / len(urgency_rows), 4)
    return result


def _not_lower(after: float | None, before: float | None) -> bool:
    return after is None or before is None or after >= before


def retrain_local_models(*, dry_run: bool = False) -> LocalModelTraining:
    """Fit, compare and (unless ``dry_run``, and only when nothing got worse) adopt; one row per run."""
    run = LocalModelTraining.objects.create()
    try:
        _retrain(run, dry_run=dry_run)
    except Exception as error:
        run.note = f"failed: {type(error).__name__}: {error}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["note", "finished_at"])
        log.exception("local model retraining failed")
        raise
    return run


def _retrain(run: LocalModelTraining, *, dry_run: bool) -> None:
    data_file = store.DATA_FILE
    shipped = store.load_dataset(data_file)
    shipped_train, shipped_held_out = store.split(shipped)
    held_out_texts = {_text_key(r.subject, r.body) for r in shipped_held_out}

    labels = agent_labels()
    agent_train: list[LabeledTicket] = []
    agent_held_back: list[LabeledTicket] = []
    for label in labels:
        held = (
            is_held_back(label.subject, label.body) or _text_key(label.subject, label.body) in held_out_texts
        )
        (agent_held_back if held else agent_train).append(as_labeled(label))
    held_back = [*shipped_held_out, *agent_held_back]

    current = store.load_or_train(data_file)
    candidate = store.train(shipped, "candidate", agent_train)
    before = accuracy(current, held_back)
    after = accuracy(candidate, held_back)
    better_or_equal = _not_lower(after["category"], before["category"]) and _not_lower(
        after["urgency_within_1"], before["urgency_within_1"]
    )
    adopted = better_or_equal and not dry_run

    corrections = sum(label.source == "correction" for label in labels)
    note = (
        f"{len(labels)} agent label(s) ({corrections} from corrections, {len(labels) - corrections} "
        f"confirmed): {len(agent_train)} trained on, {len(agent_held_back)} held back; held back in all "
        f"{len(held_back)} ({len(shipped_held_out)} shipped). "
    )
    if dry_run:
        note += "Dry run: nothing adopted" + (
            "; the candidate would be adopted." if better_or_equal else "; the candidate would be rejected."
        )
    elif adopted:
        labels_file = store.adopt_agent_labels(agent_train, candidate, data_file)
        note += f"Adopted: {labels_file.name} now holds the {len(agent_train)} label(s) trained on."
    else:
        note += "Not adopted: accuracy on the held-back share dropped; the current models stay."

    run.shipped_examples = len(shipped_train)
    run.agent_examples = len(agent_train)
    run.before = before
    run.after = after
    run.adopted = adopted
    run.note = note
    run.finished_at = timezone.now()
    run.save()
    log.info(
        "local models retrained on %d shipped + %d agent examples: category %s -> %s, urgency %s -> %s "
        "(within 1: %s -> %s) on %d held back; %s",
        len(shipped_train),
        len(agent_train),
        before["category"],
        after["category"],
        before["urgency"],
        after["urgency"],
        before["urgency_within_1"],
        after["urgency_within_1"],
        len(held_back),
        "adopted" if adopted else ("dry run" if dry_run else "not adopted"),
    )
