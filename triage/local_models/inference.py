"""Fast single-ticket inference for the fitted TF-IDF + linear pipelines.

scikit-learn's ``predict_proba`` spends most of a one-document call validating input and
dispatching through joblib (about 1.5 ms a call here); the local tier must answer in a few
milliseconds. ``LinearTextModel`` reads the fitted vocabularies, IDF weights and coefficients once
and then scores a text with plain dictionary lookups and one small matrix product. It computes
exactly what the pipeline computes (the tests compare the two); training still goes through
scikit-learn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from triage.local_models.nb_logistic import NaiveBayesLogistic, mean_of_heads


@dataclass(frozen=True)
class SparseTfidf:
    """One fitted ``TfidfVectorizer`` (l2 norm, optional sublinear tf) as lookups."""

    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray
    sublinear: bool

    @classmethod
    def from_vectorizer(cls, vectorizer: TfidfVectorizer) -> SparseTfidf:
        if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary:
            raise ValueError("only l2-normalised idf-weighted counts are supported")
        return cls(
            analyzer=vectorizer.build_analyzer(),
            vocabulary=vectorizer.vocabulary_,  # shared, not copied: the largest part of a model in memory
            idf=np.asarray(vectorizer.idf_, dtype=np.float64),
            sublinear=bool(vectorizer.sublinear_tf),
        )

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Indices and L2-normalised weights of the text's known terms."""
        counts = Counter(term for term in self.analyzer(text) if term in self.vocabulary)
        if not counts:
            return np.empty(0, dtype=np.intp), np.empty(0)
        indices = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.sublinear:
            tf = np.log(tf) + 1.0
        weights = tf * self.idf[indices]
        norm = float(np.sqrt(weights @ weights))
        return indices, (weights / norm if norm else weights)


class LinearTextModel:
    """A fitted pipeline: a ``FeatureUnion`` of ``TfidfVectorizer`` into a ``LogisticRegression``, or
    into a ``NaiveBayesLogistic`` (the mean of its linear heads' softmax probabilities)."""

    def __init__(self, pipeline: Pipeline) -> None:
        union = pipeline.named_steps["features"]
        model = pipeline.named_steps["model"]
        if not isinstance(union, FeatureUnion) or not isinstance(
            model, (LogisticRegression, NaiveBayesLogistic)
        ):
            raise TypeError("expected TF-IDF features into a logistic regression")
        self.parts: list[tuple[SparseTfidf, int]] = []
        offset = 0
        for _, vectorizer in union.transformer_list:
            part = SparseTfidf.from_vectorizer(vectorizer)
            self.parts.append((part, offset))
            offset += len(part.vocabulary)
        # The fitted model's own arrays (class-major), read in place: no second copy in memory.
        self.coef = np.asarray(model.coef_, dtype=np.float64)
        self.intercept = np.asarray(model.intercept_, dtype=np.float64)
        self.heads = getattr(model, "n_heads_", 1)
        self.classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
        self.binary = self.coef.shape[0] == 1

    def decision(self, text: str) -> np.ndarray:
        scores = self.intercept.copy()
        for part, offset in self.parts:
            indices, weights = part.vector(text)
            if len(indices):
                scores += self.coef[:, indices + offset] @ weights
        return scores

    def predict_proba(self, text: str) -> np.ndarray:
        scores = self.decision(text)
        if self.binary:
            positive = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.array([1.0 - positive, positive])
        return mean_of_heads(scores, self.heads)

    def predict(self, text: str) -> object:
        return self.classes[int(np.argmax(self.predict_proba(text)))]


def word_and_char_tfidf(
    char_ngrams: tuple[int, int] = (3, 5), max_char_features: int = 30000
) -> FeatureUnion:
    """The features every local text model is trained on (and ``LinearTextModel`` reads back):
    word 1-2-grams and character n-grams within word boundaries, sublinear TF-IDF."""
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=20000)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=char_ngrams,
                    sublinear_tf=True,
                    max_features=max_char_features,
                ),
            ),
        ]
    )
