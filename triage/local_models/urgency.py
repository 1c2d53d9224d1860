"""``local/urgency-scorer``: urgency 1-5, sentiment, escalation risk and the signals behind them.

How the score is made, in two layers:

1. A learned model: TF-IDF over the ticket's words and characters plus pseudo-words for the
   explicit signals found in it (outage, many users blocked, enterprise tier, churn threat,
   security, data loss, repeated failure, deadline, revenue impact, "no rush"), into a logistic
   regression trained on the urgency labels of the shipped labeled set (see ``store``), with the
   rule-made steps of layer 2 taken out of the labels (``store.base_urgency``). Its most likely
   class is the base score: how severe the problem itself is.
2. Explicit steps and floors that the label guideline makes non-negotiable and a linear model can
   only approximate: a real problem (base 2 or more) that keeps failing or has a deadline is one
   level higher; an enterprise customer with a real problem (3 or more) is one level higher;
   a churn threat, a security problem or data loss is at least 4; an outage or many blocked users
   is at least 4, and an outage hitting many users or an enterprise customer is 5.

Sentiment is VADER's compound score (vaderSentiment) turned into one word. ``escalation_risk`` is
true from 4 up, or whenever a churn threat or a security problem is seen. The reason names every
signal seen, so an agent can check it against the ticket.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from triage.local_models.registry import Message
from triage.local_models.store import trained_models, urgency_input
from triage.local_models.text import STEP_SIGNALS, Signals, detect_signals, ticket_from_messages
from triage.once import built_once
from triage.ticket_text import TicketText

TASK = "urgency_detection"
ESCALATION_SCORE = 4
DOMAIN_NEUTRAL_WORDS = ("po",)
SENTIMENT_HEAD = 400
SENTIMENT_TAIL = 200


@built_once
def _sentiment_analyzer() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    # Support-ticket words VADER reads as slang: "PO" is a purchase order, not "pissed off".
    for word in DOMAIN_NEUTRAL_WORDS:
        analyzer.lexicon.pop(word, None)
    return analyzer


@dataclass(frozen=True)
class UrgencyAssessment:
    score: int
    sentiment: str
    escalation_risk: bool
    reason: str
    signals: Signals
    learned_score: int

    def as_json(self) -> str:
        return json.dumps(
            {
                "score": self.score,
                "sentiment": self.sentiment,
                "escalation_risk": self.escalation_risk,
                "reason": self.reason,
            }
        )


def apply_floors(learned: int, signals: Signals) -> int:
    score = learned
    if any(signals.has(step) for step in STEP_SIGNALS) and score >= 2:
        score += 1
    if signals.enterprise and score >= 3:
        score += 1
    if signals.has("churn threat") or signals.has("security") or signals.has("data loss"):
        score = max(score, 4)
    if signals.has("outage") and (signals.has("many users blocked") or signals.enterprise):
        score = 5
    elif signals.has("outage") or signals.has("many users blocked"):
        score = max(score, 4)
    return max(1, min(5, score))


def sentiment_word(text: str, signals: Signals, score: int) -> str:
    # VADER slows down sharply on long texts; a ticket's tone shows in how it opens and closes.
    if len(text) > SENTIMENT_HEAD + SENTIMENT_TAIL:
        text = f"{text[:SENTIMENT_HEAD]} ... {text[-SENTIMENT_TAIL:]}"
    compound = _sentiment_analyzer().polarity_scores(text)["compound"]
    upset = signals.shouting or signals.has("churn threat") or signals.has("repeated failure")
    if upset and compound <= -0.4:
        return "angry"
    if upset or compound <= -0.3:
        return "frustrated"
    if score >= ESCALATION_SCORE:
        return "concerned"
    if compound >= 0.5:
        return "positive"
    return "neutral"


def assess(ticket: TicketText) -> UrgencyAssessment:
    signals = detect_signals(ticket)
    learned = int(str(trained_models().urgency.predict(urgency_input(ticket))))
    score = apply_floors(learned, signals)
    text = f"{ticket.subject}. {ticket.body}"
    escalation_risk = score >= ESCALATION_SCORE or signals.has("churn threat") or signals.has("security")
    return UrgencyAssessment(
        score=score,
        sentiment=sentiment_word(text, signals, score),
        escalation_risk=escalation_risk,
        reason=_reason(signals, score),
        signals=signals,
        learned_score=learned,
    )


def _reason(signals: Signals, score: int) -> str:
    if signals.seen:
        return f"Signals seen: {', '.join(signals.seen)}."
    if signals.no_rush:
        return "No urgency signals; the customer says it is not urgent."
    if score >= 3:
        return "No explicit urgency signals; the wording reads like a problem blocking this customer."
    return "No urgency signals: a routine question or request."


class UrgencyScorer:
    slug = "local/urgency-scorer"
    tasks = frozenset({TASK})

    def reply(self, messages: Sequence[Message], *, task: str | None) -> str:
        if task != TASK:
            raise ValueError(f"{self.slug} only serves {TASK}, not {task!r}")
        return assess(ticket_from_messages(messages)).as_json()
