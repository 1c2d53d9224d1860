"""The small FAQ the offline tier may answer from, and the matcher that finds an answer for a question.

Answers come only from ``data/faq.json`` (or the file named by ``TRIAGE_LOCAL_FAQ_FILE``), so the
offline tier never invents a policy. Matching is TF-IDF cosine similarity between the question and
each entry's sample questions; below ``MIN_SIMILARITY`` there is no answer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.local_models.inference import SparseTfidf
from triage.once import built_once

FAQ_FILE = Path(__file__).resolve().parent / "data" / "faq.json"
MIN_SIMILARITY = 0.45


@dataclass(frozen=True)
class FaqEntry:
    id: str
    questions: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    similarity: float


class FaqIndex:
    def __init__(self, entries: list[FaqEntry]) -> None:
        self.entries = entries
        self._owners = [i for i, entry in enumerate(entries) for _ in entry.questions]
        questions = [q for entry in entries for q in entry.questions]
        vectorizers = [
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english"),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
        ]
        # Per vectorizer: fast lookups for the question asked, and the FAQ questions as a dense
        # feature-major matrix (a few thousand terms by a few dozen questions).
        self._parts = []
        for vectorizer in vectorizers:
            matrix = vectorizer.fit_transform(questions)
            self._parts.append(
                (SparseTfidf.from_vectorizer(vectorizer), np.ascontiguousarray(matrix.T.toarray()))
            )

    def match(self, question: str) -> FaqMatch | None:
        if not question.strip():
            return None
        similarities = np.zeros(len(self._owners))
        for part, matrix in self._parts:
            indices, weights = part.vector(question)
            if len(indices):
                similarities += weights @ matrix[indices]
        # Each part is a cosine similarity; the mean of the two is the score.
        similarities /= len(self._parts)
        best = int(similarities.argmax())
        if similarities[best] < MIN_SIMILARITY:
            return None
        return FaqMatch(entry=self.entries[self._owners[best]], similarity=float(similarities[best]))


def load_faq(path: Path | None = None) -> list[FaqEntry]:
    path = path or Path(os.environ.get("TRIAGE_LOCAL_FAQ_FILE") or FAQ_FILE)
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [
        FaqEntry(id=item["id"], questions=tuple(item["questions"]), answer=item["answer"])
        for item in raw["entries"]
    ]


@built_once
def faq_index() -> FaqIndex:
    return FaqIndex(load_faq())
