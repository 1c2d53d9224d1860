"""The category model's classifier: a logistic regression averaged with its naive-Bayes-scaled twin
and a complement naive Bayes."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion, Pipeline

from triage.local_models.inference import LinearTextModel
from triage.local_models.nb_logistic import NaiveBayesLogistic

TICKETS = [
    ("please refund the double charge on my invoice", "billing"),
    ("please send a refund, the invoice is wrong", "billing"),
    ("my card was charged twice, please refund", "billing"),
    ("please help, the export crashes with an error", "bug"),
    ("the page crashes, please fix this error", "bug"),
    ("error 500 when I save, please help", "bug"),
    ("please add dark mode to the app", "feature-request"),
    ("please add an export to excel", "feature-request"),
    ("would love it if you could add a calendar view, please", "feature-request"),
]


def fitted() -> Pipeline:
    features = FeatureUnion([("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True))])
    pipeline = Pipeline([("features", features), ("model", NaiveBayesLogistic(C=20.0))])
    return pipeline.fit([text for text, _ in TICKETS], [label for _, label in TICKETS])


def test_the_probabilities_are_the_mean_of_the_plain_the_scaled_and_the_complement_heads() -> None:
    pipeline = fitted()
    model: NaiveBayesLogistic = pipeline.named_steps["model"]
    texts = ["the invoice charge is wrong", "it crashes again", "add a dark mode"]
    X = pipeline.named_steps["features"].transform(texts)
    classes = len(model.classes_)
    scores = X @ model.coef_.T + model.intercept_
    plain, scaled, complement = (
        softmax(scores[:, k * classes : (k + 1) * classes], axis=1) for k in range(3)
    )
    training = pipeline.named_steps["features"].transform([text for text, _ in TICKETS])
    sklearns_complement = ComplementNB(alpha=model.complement_alpha).fit(training, [y for _, y in TICKETS])

    probabilities = pipeline.predict_proba(texts)

    np.testing.assert_allclose(complement, sklearns_complement.predict_proba(X))  # the third head is it
    np.testing.assert_allclose(probabilities, (plain + scaled + complement) / 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert list(pipeline.predict(texts)) == ["billing", "bug", "feature-request"]


def test_the_scaling_favours_the_words_that_set_a_category_apart_over_the_ones_every_ticket_uses() -> None:
    pipeline = fitted()
    vocabulary = pipeline.named_steps["features"].transformer_list[0][1].vocabulary_
    present = (pipeline.named_steps["features"].transform([text for text, _ in TICKETS]) > 0).astype(float)
    billing = np.array([label == "billing" for _, label in TICKETS])

    ratio = NaiveBayesLogistic(alpha=1.0)._log_count_ratio(present[billing], present[~billing])

    assert ratio[vocabulary["refund"]] > 1.0  # only billing tickets say it
    assert ratio[vocabulary["crashes"]] < -0.5  # only the others say it
    assert abs(ratio[vocabulary["please"]]) < ratio[vocabulary["refund"]] / 5  # every ticket says it


def test_the_fast_scorer_gives_exactly_the_pipelines_probabilities() -> None:
    pipeline = fitted()
    fast = LinearTextModel(pipeline)
    texts = ["refund my invoice please", "crashes with error 500", "add excel export", "", "zzz"]

    expected = pipeline.predict_proba(texts)

    np.testing.assert_allclose([fast.predict_proba(text) for text in texts], expected, atol=1e-12)
    assert [fast.predict(text) for text in texts] == list(pipeline.predict(texts))
