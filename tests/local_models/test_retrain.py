"""Retraining the local models on agents' labels: adopted only when held-back accuracy doesn't drop."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any, NoReturn

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from triage.local_models import store
from triage.local_models.store import LabeledTicket
from triage.models import Feedback, LocalModelTraining, Router, Ticket
from triage.pipeline import tasks
from triage.services.retrain import HELD_BACK_SHARE, is_held_back, retrain_local_models

pytestmark = pytest.mark.django_db
CATEGORIES = ["billing", "bug", "how-to", "account", "feature-request", "other"]


def use_shipped_subset(tmp_path: Path, rows: list[LabeledTicket]) -> None:
    """As if ``rows`` were the shipped labeled set, with an empty model cache in ``tmp_path``."""
    path = tmp_path / "tickets.jsonl"
    path.write_text("".join(json.dumps(row.__dict__) + "\n" for row in rows))
    store.DATA_FILE = path
    store.forget_loaded_models()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private model cache and shipped set (set by ``use_shipped_subset``); the real ones come back."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("TRIAGE_LOCAL_MODELS_DIR", str(directory))
    monkeypatch.setattr(store, "DATA_FILE", store.DATA_FILE)
    store.forget_loaded_models()
    yield directory
    store.forget_loaded_models()


@pytest.fixture
def router(presets: None) -> Router:
    return Router.objects.get(name="triage-router")


def correct_tickets(router: Router, labels: list[tuple[LabeledTicket, str, int]]) -> list[Ticket]:
    """One ticket per (text, category, urgency), whose category and urgency an agent corrected to those."""
    tickets = Ticket.objects.bulk_create(
        Ticket(
            subject=row.subject[:200],
            body=row.body,
            customer_tier=row.customer_tier or "free",
            router=router,
            status=Ticket.Status.TRIAGED,
            category=category,
            urgency_score=urgency,
        )
        for row, category, urgency in labels
    )
    Feedback.objects.bulk_create(
        Feedback(
            ticket=ticket,
            task_name=task,
            kind=Feedback.Kind.CORRECTION,
            field=field,
            new_value=value,
        )
        for ticket, (_, category, urgency) in zip(tickets, labels, strict=True)
        for task, field, value in (
            ("classify_ticket", "category", category),
            ("urgency_detection", "urgency", urgency),
        )
    )
    return tickets


def test_agent_labels_that_help_are_adopted_and_every_load_uses_them(
    cache: Path, tmp_path: Path, router: Router, labeled: list[LabeledTicket]
) -> None:
    shipped = labeled[::24]
    use_shipped_subset(tmp_path, shipped)
    # agents labeled 300 tickets the shipped subset lacks, correctly: more than it holds
    extra = [row for i, row in enumerate(labeled) if i % 12 == 5][:300]
    tickets = correct_tickets(router, [(row, row.category, row.urgency) for row in extra])
    store.trained_models()  # this process serves the current models

    run = retrain_local_models()

    assert run.adopted, (run.before, run.after)
    assert run.after["category"] >= run.before["category"]
    assert run.after["urgency_within_1"] >= run.before["urgency_within_1"]
    assert set(run.before) >= {"category", "urgency", "urgency_within_1"}
    assert run.finished_at is not None and "Adopted" in run.note
    trained_on = [t for t in tickets if not is_held_back(t.subject, t.body)]
    assert run.agent_examples == len(trained_on)
    assert run.shipped_examples == len(store.split(shipped)[0])
    assert LocalModelTraining.objects.get() == run
    # the labels trained on are on disk (the held-back ones never), and the models in this process reload
    written = store.parse_labeled((cache / store.AGENT_LABELS_NAME).read_text())
    assert [row.id for row in written] == [f"ticket-{t.id}" for t in trained_on]
    assert store._loaded is None
    # any process's next load reads the retrained models back from the cache instead of training
    reloaded = store.load_or_train()
    assert not reloaded.fresh
    assert reloaded.trained_on == run.shipped_examples + run.agent_examples
    assert len(list(cache.glob("local-models-*.joblib"))) == 1
    assert store.trained_models().fitted.data_hash == reloaded.data_hash


def test_wrong_agent_labels_are_not_adopted(
    cache: Path, tmp_path: Path, router: Router, labeled: list[LabeledTicket]
) -> None:
    subset = labeled[::24]
    use_shipped_subset(tmp_path, subset)
    current = store.load_or_train()
    # agents mislabeled every training ticket twice, at random
    rng = random.Random(7)
    wrong = [
        (
            row,
            rng.choice([c for c in CATEGORIES if c != row.category]),
            rng.choice([u for u in range(1, 6) if u != row.urgency]),
        )
        for row in store.split(subset)[0]
        for _ in range(2)
    ]
    tickets = correct_tickets(router, wrong)
    # only the share trained on: random labels held back would make the evaluation a coin toss
    Feedback.objects.filter(ticket__in=[t for t in tickets if is_held_back(t.subject, t.body)]).delete()

    run = retrain_local_models()

    assert not run.adopted
    assert run.agent_examples == sum(not is_held_back(t.subject, t.body) for t in tickets)
    assert run.after["category"] < run.before["category"]
    assert run.after["urgency_within_1"] < run.before["urgency_within_1"]
    assert "Not adopted" in run.note
    assert not (cache / store.AGENT_LABELS_NAME).exists()
    kept = store.load_or_train()
    assert not kept.fresh and kept.data_hash == current.data_hash


def test_command_prints_before_and_after_and_a_dry_run_adopts_nothing(
    cache: Path, tmp_path: Path, router: Router, labeled: list[LabeledTicket]
) -> None:
    use_shipped_subset(tmp_path, labeled[::24])
    correct_tickets(router, [(row, row.category, row.urgency) for row in labeled[1:40]])
    out = StringIO()

    call_command("retrain_local", "--dry-run", stdout=out)

    printed = out.getvalue()
    assert "before" in printed and "after" in printed and "category accuracy" in printed
    assert "Dry run" in printed and "not adopted" in printed
    assert not (cache / store.AGENT_LABELS_NAME).exists()
    run = LocalModelTraining.objects.get()
    assert not run.adopted and run.before and run.after


def test_a_failed_retrain_is_recorded_and_raised(
    cache: Path, tmp_path: Path, labeled: list[LabeledTicket], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_shipped_subset(tmp_path, labeled[::24])

    def broken(*args: Any, **kwargs: Any) -> NoReturn:
        raise MemoryError("no room")

    monkeypatch.setattr(store, "train", broken)
    with pytest.raises(MemoryError):
        retrain_local_models()
    run = LocalModelTraining.objects.get()
    assert not run.adopted and run.finished_at is not None and "MemoryError" in run.note


def test_the_held_back_share_of_agent_labels_is_fixed_and_a_fifth() -> None:
    texts = [(f"Ticket {n}", f"Body of ticket {n}.") for n in range(5000)]
    held = [text for text in texts if is_held_back(*text)]
    assert 0.17 <= len(held) / 5000 <= 0.23
    assert held == [text for text in texts if is_held_back(*text)]  # the same text, the same side
    assert HELD_BACK_SHARE == 5


def test_beat_retrains_weekly_through_a_thin_task(monkeypatch: pytest.MonkeyPatch) -> None:
    job = settings.CELERY_BEAT_SCHEDULE["retrain-local-models"]
    assert (
        job["task"]
        == tasks.retrain_local_models_task.name
        == "triage.pipeline.tasks.retrain_local_models_task"
    )
    assert isinstance(job["schedule"], crontab)
    assert len(job["schedule"].day_of_week) == 1  # once a week
    calls: list[int] = []
    monkeypatch.setattr(tasks, "retrain_local_models", lambda: calls.append(1))
    tasks.retrain_local_models_task()
    assert calls == [1]


def test_admin_lists_the_runs_read_only(client: Client, staff_user: User) -> None:
    run = LocalModelTraining.objects.create(
        shipped_examples=730,
        agent_examples=12,
        before={"category": 0.9, "urgency": 0.7, "urgency_within_1": 0.95},
        after={"category": 0.91, "urgency": 0.7, "urgency_within_1": 0.96},
        adopted=True,
        note="Adopted.",
    )
    client.force_login(staff_user)
    listing = client.get(reverse("admin:triage_localmodeltraining_changelist")).content.decode()
    assert "730 shipped + 12 agent" in listing
    assert "category 90.0%" in listing and "category 91.0%" in listing
    detail = client.get(reverse("admin:triage_localmodeltraining_change", args=[run.pk]))
    assert detail.status_code == 200 and b"Adopted." in detail.content
    assert client.get(reverse("admin:triage_localmodeltraining_add")).status_code == 403


def test_an_unreadable_labels_file_is_ignored_not_fatal(
    cache: Path, tmp_path: Path, labeled: list[LabeledTicket]
) -> None:
    use_shipped_subset(tmp_path, labeled[::24])
    cache.mkdir(parents=True)
    (cache / store.AGENT_LABELS_NAME).write_text('{"id": "ticket-1", "subject": "half a line\n')
    models = store.load_or_train()
    assert models.data_hash == store.data_hash(store.DATA_FILE)
    assert models.trained_on == len(store.split(labeled[::24])[0])
