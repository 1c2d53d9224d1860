"""The fast scorers give exactly the fitted pipelines' probabilities."""

from __future__ import annotations

import numpy as np

from triage.local_models import store
from triage.local_models.store import LabeledTicket


def test_fast_scorers_match_scikit_learn(held_out: list[LabeledTicket]) -> None:
    models = store.trained_models()
    sample = held_out[:60]
    category_texts = [store.category_input(r.ticket) for r in sample]
    urgency_texts = [store.urgency_input(r.ticket) for r in sample]
    expected_category = models.fitted.category.predict_proba(category_texts)
    expected_urgency = models.fitted.urgency.predict_proba(urgency_texts)
    fast_category = np.array([models.category.predict_proba(t) for t in category_texts])
    fast_urgency = np.array([models.urgency.predict_proba(t) for t in urgency_texts])
    np.testing.assert_allclose(fast_category, expected_category, atol=1e-9)
    np.testing.assert_allclose(fast_urgency, expected_urgency, atol=1e-9)


def test_text_with_no_known_terms_still_gets_an_answer() -> None:
    probabilities = store.trained_models().category.predict_proba("")
    assert abs(probabilities.sum() - 1) < 1e-9
