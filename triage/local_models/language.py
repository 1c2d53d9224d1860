"""The language a ticket is written in, detected offline, and whether the local models know it.

py3langid (a maintained fork of langid.py: a naive-Bayes model over byte n-grams, shipped inside
the package, NumPy only) was measured against lingua-language-detector on the shipped tickets cut
short (``bench/language_detection.py``, 823 not in English and as many in English): over the
candidate languages below py3langid was right on 94.5% of tickets cut to five words and 99.9% of
whole tickets, at 0.04 ms a call (p95 0.2 ms) and about 100 MB; lingua's high-accuracy mode was
right on 94.3% at five words (better on three-word scraps: 82% to 67%) but takes 1.3 GB for its
languages and 1 ms a call, and its low-accuracy mode was right on 78% at five words. A worker has 400 MB
for everything, so py3langid. Nothing is downloaded.

A guess is kept only when the text is long enough to carry one and the model is sure of it:
"refund??" or "cant login" says nothing about a language, so it is stored as undetermined ("")
and the local models treat it as one of theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from triage.once import built_once

# The languages the local models were trained on (rows of each in ``data/tickets.jsonl``); a
# ticket confidently in another language gets a lower confidence so the cascade sends it on.
TRAINED_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl")
# A local model's confidence is multiplied by this for a ticket in a language it wasn't trained on.
OUT_OF_LANGUAGE_FACTOR = 0.5
# The languages a ticket is told apart among: the trained ones and the world's other common written
# languages. py3langid knows 140; among all of them a three-word ticket often reads as a regional
# cousin (Occitan for French, Luxembourgish for German), and narrowing the candidates is how its
# docs suggest to fix that. Measured on the shipped tickets cut to their first five words: 93% of
# guesses right over all languages, 97% over these.
CANDIDATES = (
    *TRAINED_LANGUAGES,
    *("sv", "da", "no", "fi", "pl", "cs", "sk", "hu", "ro", "tr", "ru", "uk", "el", "bg", "hr", "sr"),
    *("sl", "lt", "lv", "et", "ca", "ja", "zh", "ko", "ar", "he", "hi", "th", "vi", "id", "ms"),
)
MIN_WORDS = 3
MIN_PROBABILITY = 0.3
# The detector reads this much of a ticket: enough for a confident guess, and a pasted log further
# down (mostly English keywords) doesn't outvote the customer's own sentences.
HEAD_CHARS = 600
# Parts of a ticket that are no language: links, addresses, numbers, ids, code-ish tokens.
_NOISE = re.compile(r"https?://\S+|\S+@\S+|\b[\w-]*\d[\w-]*\b|[_#/\\{}\[\]<>|=*]+")
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # ISO 639-1, or "" when the text doesn't say
    probability: float

    @property
    def known_to_local_models(self) -> bool:
        return not self.code or self.code in TRAINED_LANGUAGES


@built_once
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CANDIDATES))
    return identifier


def detect_language(text: str) -> LanguageGuess:
    cleaned = _NOISE.sub(" ", text[:HEAD_CHARS])
    if len(_WORD.findall(cleaned)) < MIN_WORDS:
        return LanguageGuess("", 0.0)
    code, probability = _identifier().classify(cleaned)
    if probability < MIN_PROBABILITY:
        return LanguageGuess("", float(probability))
    return LanguageGuess(str(code), round(float(probability), 3))
