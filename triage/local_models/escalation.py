"""Does this ticket need a human? A calibrated probability, monotone in the explicit signals.

Two layers, fitted together on the labeled set (a ticket needs a human when its urgency label is
4 or 5, the labeling rule in ``tests/data/blind/RULES.md``):

1. A text model: TF-IDF over words and characters into a logistic regression, whose log-odds say
   how severe the ticket reads.
2. A stacked logistic regression over that log-odds and the explicit signals (outage, many users
   blocked, enterprise tier, security, data loss, legal, churn threat, repeated contact, deadline,
   revenue impact; "no rush" pulls down). It is fitted on out-of-fold log-odds (five folds), so its
   output is a calibrated probability rather than the text model's over-confident one, and its
   signal weights are bounded to be >= 0 (<= 0 for "no rush"): a signal seen can only raise the
   probability. scikit-learn's LogisticRegression takes no sign bounds, so the stacker is fitted
   with SciPy's L-BFGS-B directly (a dozen weights).

The decision threshold is chosen on the same out-of-fold probabilities: the lowest one whose
precision stays at or above ``TARGET_PRECISION``, which maximises recall at that precision (the
offline-tier issue judges escalation by recall at a fixed precision).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from triage.local_models.inference import word_and_char_tfidf
from triage.local_models.text import Signals

# Raising signals, in the order of the stacker's weights; "no rush" is last and may only lower.
RAISING = (
    "outage",
    "many users blocked",
    "enterprise tier",
    "security",
    "data loss",
    "legal",
    "churn threat",
    "repeated failure",
    "deadline",
    "production or revenue impact",
)
TARGET_PRECISION = 0.90
L2 = 0.01


def signal_vector(signals: Signals, text_log_odds: float) -> np.ndarray:
    """The signals as stacker inputs. The enterprise tier counts in proportion to how severe the text
    reads (an enterprise customer's real problem is urgent, its routine question is not), which
    keeps the probability monotone in both."""
    severity = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, text_log_odds))))
    values = [1.0 if signals.has(name) else 0.0 for name in RAISING]
    values[RAISING.index("enterprise tier")] *= severity
    return np.array([*values, 1.0 if signals.no_rush else 0.0])


def build_text_pipeline() -> Pipeline:
    return Pipeline(
        [("features", word_and_char_tfidf()), ("model", LogisticRegression(C=5.0, max_iter=3000))]
    )


@dataclass
class Stacker:
    """``p = sigmoid(bias + text_weight * text_log_odds + signal_weights . signals)``."""

    bias: float
    text_weight: float
    signal_weights: np.ndarray
    threshold: float

    def probability(self, text_log_odds: float, signals: Signals) -> float:
        signal_part = float(self.signal_weights @ signal_vector(signals, text_log_odds))
        z = self.bias + self.text_weight * text_log_odds + signal_part
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def _fit_stacker(
    log_odds: np.ndarray, signals: np.ndarray, labels: np.ndarray, weights: np.ndarray
) -> tuple[float, float, np.ndarray]:
    features = np.column_stack([log_odds, signals])

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + features @ theta[1:]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        eps = 1e-9
        value = -np.average(labels * np.log(p + eps) + (1 - labels) * np.log(1 - p + eps), weights=weights)
        value += L2 * float(theta[1:] @ theta[1:])
        residual = weights * (p - labels) / weights.sum()
        gradient = np.concatenate([[residual.sum()], features.T @ residual])
        gradient[1:] += 2 * L2 * theta[1:]
        return value, gradient

    bounds = [(None, None), (0.0, None)] + [(0.0, None)] * len(RAISING) + [(None, 0.0)]
    start = np.zeros(2 + signals.shape[1])
    start[1] = 1.0
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = result.x
    return float(theta[0]), float(theta[1]), np.asarray(theta[2:], dtype=np.float64)


def _threshold_for_precision(
    probabilities: np.ndarray, labels: np.ndarray, weights: np.ndarray, target: float
) -> float:
    """The lowest threshold whose (weighted) precision is >= target: the most recall at that precision."""
    best = 0.5
    for threshold in sorted(set(np.round(probabilities, 4))):
        flagged = probabilities >= threshold
        if not flagged.any():
            break
        if np.average(labels[flagged], weights=weights[flagged]) >= target:
            return float(threshold)
        best = float(threshold)
    return max(best, 0.5)


def fit_escalation(
    texts: Sequence[str],
    signals: Sequence[Signals],
    labels: Sequence[bool],
    sample_weights: Sequence[float] | None = None,
) -> tuple[Pipeline, Stacker]:
    y = np.array([1.0 if label else 0.0 for label in labels])
    w = np.ones(len(y)) if sample_weights is None else np.asarray(sample_weights, dtype=np.float64)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    out_of_fold = cross_val_predict(
        build_text_pipeline(),
        list(texts),
        y,
        cv=folds,
        method="decision_function",
        params={"model__sample_weight": w},
    )
    matrix = np.array([signal_vector(s, float(o)) for s, o in zip(signals, out_of_fold, strict=True)])
    bias, text_weight, weights = _fit_stacker(np.asarray(out_of_fold), matrix, y, w)
    z = bias + text_weight * out_of_fold + matrix @ weights
    probabilities = 1.0 / (1.0 + np.exp(-z))
    threshold = _threshold_for_precision(probabilities, y, w, TARGET_PRECISION)
    text_model = build_text_pipeline().fit(list(texts), y, model__sample_weight=w)
    return text_model, Stacker(
        bias=bias, text_weight=text_weight, signal_weights=weights, threshold=threshold
    )
