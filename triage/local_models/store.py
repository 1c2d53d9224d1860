"""The labeled ticket set, its fixed held-out split, and the trained models cached on disk.

Training happens at most once per data-file version: the fitted pipelines are saved under the cache
directory (``TRIAGE_LOCAL_MODELS_DIR``, else ``settings.DATA_DIR / "local_models"``) in a file named
after the data file's SHA-256, the feature code's hash and the scikit-learn version, so editing the
data (or how features are made) retrains on the next load and an unchanged setup is only read back.
In a process the models load once, on the first request, behind a lock.

Agents' labels adopted by a retrain (``triage.services.retrain``) are kept beside the cache in
``agent_labels.jsonl``: every one of them is trained on, besides the shipped training split, and the
file is part of the cache key, so each process picks the retrained models up on its next load.

This module never downloads anything and never trains at import time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from triage.local_models.escalation import Stacker, fit_escalation
from triage.local_models.inference import LinearTextModel, word_and_char_tfidf
from triage.local_models.nb_logistic import NaiveBayesLogistic
from triage.local_models.text import STEP_SIGNALS, detect_signals, signal_tokens
from triage.ticket_text import TicketText

log = logging.getLogger(__name__)

DATA_FILE = Path(__file__).resolve().parent / "data" / "tickets.jsonl"
CACHE_PREFIX = "local-models-"
# Agents' labels a retrain adopted, in the cache directory; trained on in full (never held out).
AGENT_LABELS_NAME = "agent_labels.jsonl"
# A ticket labeled this urgent or more needs a human (the labeling rule).
ESCALATION_LABEL = 4
TEMPLATE_WEIGHT = 0.3
# The cache is also keyed by the code that turns a ticket into features and trains on it, so
# editing a signal pattern or the pipelines never reads back a model fitted on other features.
FEATURE_CODE = tuple(
    Path(__file__).resolve().parent / name
    for name in ("store.py", "text.py", "escalation.py", "inference.py", "nb_logistic.py")
)


def feature_code_hash() -> str:
    digest = hashlib.sha256()
    for path in FEATURE_CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


@dataclass(frozen=True)
class LabeledTicket:
    """One labeled ticket. The shipped rows have both labels; an agent's label may give only one:
    an empty ``category`` or an ``urgency`` of 0 means that field is not labeled (not trained on)."""

    id: str
    subject: str
    body: str
    customer_tier: str
    category: str
    urgency: int
    lang: str
    source: str

    @property
    def ticket(self) -> TicketText:
        return TicketText(subject=self.subject, body=self.body, customer_tier=self.customer_tier)


def load_dataset(path: Path = DATA_FILE) -> list[LabeledTicket]:
    return parse_labeled(path.read_text(encoding="utf-8"))


def parse_labeled(text: str) -> list[LabeledTicket]:
    """JSON lines of labeled tickets; ``category`` / ``urgency`` may be missing (agents' labels)."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        rows.append(
            LabeledTicket(
                id=str(raw["id"]),
                subject=raw["subject"],
                body=raw["body"],
                customer_tier=raw.get("customer_tier") or "",
                category=raw.get("category") or "",
                urgency=int(raw.get("urgency") or 0),
                lang=raw.get("lang", "en"),
                source=raw.get("source", ""),
            )
        )
    return rows


def labeled_jsonl(rows: Sequence[LabeledTicket]) -> str:
    """``rows`` as the JSON lines ``parse_labeled`` reads, leaving out fields they don't label."""
    lines = []
    for row in rows:
        raw: dict[str, Any] = {k: v for k, v in asdict(row).items() if k not in ("category", "urgency")}
        if row.category:
            raw["category"] = row.category
        if row.urgency:
            raw["urgency"] = row.urgency
        lines.append(json.dumps(raw, ensure_ascii=False, sort_keys=True) + "\n")
    return "".join(lines)


def is_held_out(ticket_id: str) -> bool:
    """The fixed 20% evaluation split: decided by the id's hash, so it never moves between runs."""
    return int(hashlib.sha256(ticket_id.encode()).hexdigest()[:8], 16) % 5 == 0


def split(rows: list[LabeledTicket]) -> tuple[list[LabeledTicket], list[LabeledTicket]]:
    train = [r for r in rows if not is_held_out(r.id)]
    held_out = [r for r in rows if is_held_out(r.id)]
    return train, held_out


def data_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_hash(data_digest: str, agent_labels: bytes) -> str:
    """What the models are trained on: the data file's hash alone while no agent labels are adopted."""
    if not agent_labels.strip():
        return data_digest
    return hashlib.sha256(data_digest.encode() + b"\nagent-labels\n" + agent_labels).hexdigest()


def read_agent_labels(directory: Path) -> bytes:
    try:
        return (directory / AGENT_LABELS_NAME).read_bytes()
    except FileNotFoundError:
        return b""


def category_input(ticket: TicketText) -> str:
    return f"{ticket.subject}\n{ticket.body}"


def urgency_input(ticket: TicketText) -> str:
    signals = detect_signals(ticket)
    return f"{ticket.subject}\n{ticket.body}\n{signal_tokens(signals)}"


def training_weight(row: LabeledTicket) -> float:
    """Tickets made from templates count for less than tickets people wrote: there are many of
    them, and real tickets don't read like them."""
    return TEMPLATE_WEIGHT if row.source.startswith("template") else 1.0


def escalation_input(ticket: TicketText) -> str:
    return f"{ticket.subject}\n{ticket.body}"


def base_urgency(row: LabeledTicket) -> int:
    """The label the learned urgency model trains on: the label without the steps the scorer adds itself.

    The labeling guideline puts a real problem one level higher for an enterprise customer, and
    one level higher again when it keeps failing or has a deadline. Those are interactions a
    linear model over words can't learn, so the scorer applies them as rules (``urgency``) and the
    model learns the severity of the problem itself.
    """
    signals = detect_signals(row.ticket)
    score = row.urgency
    if signals.enterprise and score >= 4:
        score -= 1
    if any(signals.has(step) for step in STEP_SIGNALS) and score >= 3 and not signals.has("churn threat"):
        score -= 1
    return score


def build_category_pipeline() -> Pipeline:
    return Pipeline([("features", word_and_char_tfidf((2, 5), 40000)), ("model", NaiveBayesLogistic(C=20.0))])


def build_urgency_pipeline() -> Pipeline:
    return Pipeline(
        [("features", word_and_char_tfidf()), ("model", LogisticRegression(C=20.0, max_iter=3000))]
    )


@dataclass
class TrainedModels:
    category: Pipeline
    urgency: Pipeline
    escalation_text: Pipeline
    escalation: Stacker
    data_hash: str
    trained_on: int
    # True when this process fitted the models rather than reading them from the cache.
    fresh: bool = False


def train(rows: list[LabeledTicket], digest: str, extra: Sequence[LabeledTicket] = ()) -> TrainedModels:
    """Fit both pipelines on the training split of ``rows`` plus every row of ``extra`` (agents'
    labels, already kept apart from any evaluation); each pipeline on the rows that carry its label."""
    train_rows, _ = split(rows)
    train_rows = [*train_rows, *extra]
    category_rows = [r for r in train_rows if r.category]
    urgency_rows = [r for r in train_rows if r.urgency]
    category = build_category_pipeline()
    category.fit([category_input(r.ticket) for r in category_rows], [r.category for r in category_rows])
    urgency = build_urgency_pipeline()
    urgency.fit([urgency_input(r.ticket) for r in urgency_rows], [base_urgency(r) for r in urgency_rows])
    escalation_text, escalation = fit_escalation(
        [escalation_input(r.ticket) for r in urgency_rows],
        [detect_signals(r.ticket) for r in urgency_rows],
        [r.urgency >= ESCALATION_LABEL for r in urgency_rows],
        [training_weight(r) for r in urgency_rows],
    )
    return TrainedModels(
        category=category,
        urgency=urgency,
        escalation_text=escalation_text,
        escalation=escalation,
        data_hash=digest,
        trained_on=len(train_rows),
        fresh=True,
    )


def cache_dir() -> Path:
    configured = os.environ.get("TRIAGE_LOCAL_MODELS_DIR")
    if configured:
        return Path(configured)
    try:
        from django.conf import settings

        return Path(settings.DATA_DIR) / "local_models"
    except Exception:  # Django not configured (a bare script): fall back beside the project.
        return Path(__file__).resolve().parents[2] / "var" / "local_models"


def cache_path(directory: Path, digest: str) -> Path:
    code = feature_code_hash()
    return directory / f"{CACHE_PREFIX}{digest[:16]}-code{code}-sk{sklearn.__version__}.joblib"


def load_or_train(data_file: Path | None = None, directory: Path | None = None) -> TrainedModels:
    """Read the cached models for this data file's (and adopted agent labels') version, or train
    and cache them."""
    data_file = data_file or DATA_FILE
    directory = directory or cache_dir()
    agent_labels = read_agent_labels(directory)
    try:
        extra = parse_labeled(agent_labels.decode("utf-8"))
    except (ValueError, KeyError, TypeError):  # A hand-edited labels file never takes the tier down.
        log.warning("adopted agent labels in %s unreadable; training without them", directory, exc_info=True)
        agent_labels, extra = b"", []
    digest = training_hash(data_hash(data_file), agent_labels)
    path = cache_path(directory, digest)
    if path.exists():
        try:
            cached: Any = joblib.load(path)
            if isinstance(cached, TrainedModels) and cached.data_hash == digest:
                cached.fresh = False
                return cached
        except Exception:  # A torn or incompatible cache file is rebuilt, never trusted.
            log.warning("local model cache %s unreadable; retraining", path, exc_info=True)
    models = train(load_dataset(data_file), digest, extra)
    try:
        _write_atomically(models, path)
    except OSError:  # A read-only or full disk costs a retrain next process, not an outage now.
        log.warning("could not cache the local models in %s", path.parent, exc_info=True)
    return models


def adopt_agent_labels(
    rows: Sequence[LabeledTicket],
    models: TrainedModels,
    data_file: Path | None = None,
    directory: Path | None = None,
) -> Path:
    """Make ``rows`` the adopted agent labels, and ``models`` (trained on the shipped training split
    plus exactly these rows) their cached models; this process reloads on its next use, others when
    they next load. Returns the labels file."""
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    text = labeled_jsonl(rows).encode("utf-8")
    labels_file = directory / AGENT_LABELS_NAME
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text)
        os.replace(tmp, labels_file)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    models.data_hash = training_hash(data_hash(data_file or DATA_FILE), text)
    models.fresh = False
    try:
        _write_atomically(models, cache_path(directory, models.data_hash))
    except OSError:  # The next load trains the same models from the labels file instead.
        log.warning("could not cache the retrained local models in %s", directory, exc_info=True)
    forget_loaded_models()
    return labels_file


def _write_atomically(models: TrainedModels, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several processes may train at once; each writes a private file and renames it into place.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".joblib")
    os.close(fd)
    try:
        joblib.dump(models, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    for stale in path.parent.glob(f"{CACHE_PREFIX}*.joblib"):
        if stale != path:
            stale.unlink(missing_ok=True)


@dataclass(frozen=True)
class LoadedModels:
    """What the models use at run time: fast scorers built from the fitted pipelines."""

    category: LinearTextModel
    urgency: LinearTextModel
    escalation_text: LinearTextModel
    fitted: TrainedModels


_loaded: LoadedModels | None = None
_load_lock = threading.Lock()


def trained_models() -> LoadedModels:
    """The process-wide models, loaded (or trained) once on first use; safe to call from many threads."""
    global _loaded
    models = _loaded
    if models is not None:
        return models
    with _load_lock:
        if _loaded is None:
            fitted = load_or_train()
            _loaded = LoadedModels(
                category=LinearTextModel(fitted.category),
                urgency=LinearTextModel(fitted.urgency),
                escalation_text=LinearTextModel(fitted.escalation_text),
                fitted=fitted,
            )
        return _loaded


def forget_loaded_models() -> None:
    """Drop the in-process models so the next call loads again (tests, data reloads)."""
    global _loaded
    with _load_lock:
        _loaded = None
