"""Training once, caching on disk, retraining when the data changes, and loading once per process."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.local_models.conftest import request_for
from triage.local_models import store
from triage.local_models.classifier import TicketClassifier
from triage.local_models.data import generate
from triage.local_models.registry import LocalModel


@pytest.fixture
def small_data(tmp_path: Path, labeled: list[store.LabeledTicket]) -> Path:
    """A quick-to-train copy of the labeled set: every 24th ticket (about 210: these tests are about
    training once and caching, not about quality)."""
    path = tmp_path / "tickets.jsonl"
    rows = [row.__dict__ for row in labeled[::24]]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, small_data: Path) -> Iterator[None]:
    """As if the process had just started with an empty cache; the real models come back afterwards."""
    monkeypatch.setenv("TRIAGE_LOCAL_MODELS_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(store, "DATA_FILE", small_data)
    store.forget_loaded_models()
    yield
    store.forget_loaded_models()


def test_second_load_reads_the_cache_instead_of_training(small_data: Path, tmp_path: Path) -> None:
    first = store.load_or_train(small_data, tmp_path)
    second = store.load_or_train(small_data, tmp_path)
    assert first.fresh and not second.fresh
    assert len(list(tmp_path.glob("local-models-*.joblib"))) == 1


def test_changed_data_file_retrains_and_replaces_the_cache(small_data: Path, tmp_path: Path) -> None:
    before = store.load_or_train(small_data, tmp_path)
    with small_data.open("a") as data:
        extra = {
            "id": "extra1",
            "subject": "Refund",
            "body": "Refund INV-1 please",
            "category": "billing",
            "urgency": 2,
        }
        data.write(json.dumps(extra) + "\n")
    after = store.load_or_train(small_data, tmp_path)
    assert after.fresh
    assert after.data_hash != before.data_hash
    cached = list(tmp_path.glob("local-models-*.joblib"))
    assert cached == [store.cache_path(tmp_path, after.data_hash)]


def test_unreadable_cache_is_rebuilt(small_data: Path, tmp_path: Path) -> None:
    store.load_or_train(small_data, tmp_path)
    store.cache_path(tmp_path, store.data_hash(small_data)).write_bytes(b"not a model")
    assert store.load_or_train(small_data, tmp_path).fresh


def test_concurrent_first_calls_train_once_and_agree(
    fresh_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainings = []
    real_train = store.train

    def counting_train(*args: Any, **kwargs: Any) -> store.TrainedModels:
        trainings.append(1)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(store, "train", counting_train)
    messages = request_for("classify_ticket", "Invoice", "Why was I charged twice on INV-3382?")
    answers: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def call() -> None:
        start.wait()
        try:
            answers.append(TicketClassifier().reply(messages, task="classify_ticket"))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(trainings) == 1
    assert len(answers) == 8 and len(set(answers)) == 1


def test_registering_the_models_trains_nothing(fresh_process: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError("trained at registration")

    monkeypatch.setattr(store, "train", refuse)
    monkeypatch.setattr(store, "load_or_train", refuse)
    from triage.local_models.builtin import register_builtin_models

    registered: list[LocalModel] = []
    register_builtin_models(registered.append)
    assert sorted(m.slug for m in registered) == [
        "local/brief-writer",
        "local/reply-drafter",
        "local/support-bot",
        "local/ticket-classifier",
        "local/urgency-scorer",
    ]


def test_held_out_split_is_fixed_and_a_fifth(labeled: list[store.LabeledTicket]) -> None:
    train, held_out = store.split(labeled)
    assert 0.15 <= len(held_out) / len(labeled) <= 0.25
    assert {row.id for row in held_out} == {row.id for row in labeled if store.is_held_out(row.id)}
    assert not {row.id for row in train} & {row.id for row in held_out}


def test_shipped_data_file_is_what_the_generator_writes() -> None:
    rows = generate.build()
    shipped = store.DATA_FILE.read_text().splitlines()
    assert [json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows] == shipped


def test_labeled_set_is_large_varied_and_labeled(labeled: list[store.LabeledTicket]) -> None:
    assert len(labeled) >= 600
    assert {row.category for row in labeled} == {
        "billing",
        "bug",
        "how-to",
        "account",
        "feature-request",
        "other",
    }
    assert {row.urgency for row in labeled} == {1, 2, 3, 4, 5}
    assert len({row.lang for row in labeled}) >= 5
    assert len({row.body for row in labeled}) == len(labeled)


def test_unwritable_cache_still_serves_the_trained_models(
    small_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: Any, **kwargs: Any) -> NoReturn:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_write_atomically", disk_full)
    models = store.load_or_train(small_data, tmp_path)
    assert models.fresh
    assert models.category.predict(["I was charged twice on INV-1234"])[0] in {
        "billing",
        "bug",
        "how-to",
        "account",
        "feature-request",
        "other",
    }


def test_changed_feature_code_retrains(
    small_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.load_or_train(small_data, tmp_path / "cache")
    edited = tmp_path / "text.py"
    edited.write_text(store.FEATURE_CODE[1].read_text() + "\n# a signal pattern changed\n")
    monkeypatch.setattr(store, "FEATURE_CODE", (store.FEATURE_CODE[0], edited))
    assert store.load_or_train(small_data, tmp_path / "cache").fresh


def test_a_starting_worker_loads_the_local_models_before_its_first_task(fresh_process: None) -> None:
    from celery import signals

    import triage_site.celery  # noqa: F401 - connects the worker's start-up handler

    assert store._loaded is None
    try:
        signals.celeryd_after_setup.send(sender="test@host", instance=None, conf=None)
        # and then what it started with is out of the garbage collector's full scans (they stalled
        # every thread of the worker for 133-146 ms)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    # loaded (here: trained on the small set) before any task, not inside the first ticket's step
    assert store._loaded is not None
    assert list((Path(store.cache_dir())).glob("local-models-*.joblib"))


def test_a_failed_warm_up_does_not_stop_the_worker(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from triage.local_models import builtin
    from triage_site.celery import warm_up

    def broken() -> NoReturn:
        raise OSError("cache directory not writable")

    monkeypatch.setattr(builtin, "local_models_warm", broken)
    with caplog.at_level("WARNING", logger="triage_site.celery"):
        warm_up()  # returns: the first real call loads the models or says why not
    assert "worker warm-up failed" in caplog.text
    assert "cache directory not writable" in caplog.text
