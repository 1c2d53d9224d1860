"""The escalation decision: explicit signals, a calibrated probability monotone in them, the rule's
non-negotiables, and recall at a fixed precision on the held-out split."""

from __future__ import annotations

import numpy as np
import pytest

from tests.local_models.conftest import ask
from triage.local_models.escalation import RAISING, Stacker
from triage.local_models.store import LabeledTicket, trained_models
from triage.local_models.text import Signals, detect_signals
from triage.local_models.urgency import assess
from triage.ticket_text import TicketText

SIGNAL_EXAMPLES = {
    "outage": ["The whole site is down since 9am.", "Seit heute Morgen ist die App nicht erreichbar."],
    "many users blocked": ["All 40 of our agents are blocked.", "Todos nuestros usuarios están bloqueados."],
    "enterprise tier": ["We are on the enterprise plan and the export fails."],
    "security": [
        "I got a password change email that wasn't me.",
        "Acesso não autorizado à minha conta.",
        # said in passing
        "Probably nothing, but in Billing History I saw another company's invoices for a moment.",
        "Maybe a dumb question, but I can see every client's name and phone number in the page source.",
        "Reporting a vulnerability: the login endpoint has no rate limit.",
        "Might be nothing, but a former manager who left in January says she still gets our sales email.",
    ],
    "data loss": ["All our projects disappeared overnight.", "Alle Rechnungen sind verschwunden."],
    "legal": ["Our lawyers will be in touch about the SLA breach.", "Nous allons saisir le tribunal."],
    "churn threat": ["We are evaluating alternatives and will cancel our contract.", "We gaan overstappen."],
    "repeated failure": ["This is the third time I'm writing about this.", "È la terza volta che scrivo."],
    "deadline": [
        "Payroll has to run tomorrow morning.",
        "Lo necesitamos para mañana.",
        "Our charity auction starts in 90 minutes.",
    ],
    "production or revenue impact": ["We are losing orders every minute.", "Wir verlieren Bestellungen."],
}


@pytest.mark.parametrize(
    ("signal", "sentence"), [(s, text) for s, texts in SIGNAL_EXAMPLES.items() for text in texts]
)
def test_each_explicit_signal_is_seen(signal: str, sentence: str) -> None:
    tier = "enterprise" if signal == "enterprise tier" else ""
    assert detect_signals(TicketText(subject="", body=sentence, customer_tier=tier)).has(signal)


def test_asking_about_a_disclosure_programme_is_not_a_security_incident() -> None:
    ticket = TicketText(
        subject="Bug bounty?", body="Do you run a bug bounty or vulnerability disclosure program?"
    )
    assert not detect_signals(ticket).has("security")


def test_every_raising_signal_has_an_example() -> None:
    assert set(SIGNAL_EXAMPLES) == set(RAISING)


def _signals(*names: str, no_rush: bool = False) -> Signals:
    return Signals(seen=names, no_rush=no_rush, enterprise="enterprise tier" in names, shouting=False)


def test_the_probability_only_rises_with_each_signal_and_falls_with_no_rush() -> None:
    stacker: Stacker = trained_models().fitted.escalation
    assert (stacker.signal_weights[: len(RAISING)] >= 0).all() and stacker.signal_weights[-1] <= 0
    for log_odds in np.linspace(-6, 6, 25):
        base = stacker.probability(float(log_odds), _signals())
        for name in RAISING:
            assert stacker.probability(float(log_odds), _signals(name)) >= base
            # adding a second signal never lowers it either
            assert stacker.probability(float(log_odds), _signals(name, "deadline")) >= stacker.probability(
                float(log_odds), _signals(name)
            )
        assert stacker.probability(float(log_odds), _signals(no_rush=True)) <= base
        # and a ticket that reads more severe is never less likely to need a human
        assert stacker.probability(float(log_odds) + 0.5, _signals()) >= base


def test_the_probability_is_calibrated_on_the_held_out_split(held_out: list[LabeledTicket]) -> None:
    """Brier score well below always answering the base rate, and per third of the tickets (by
    probability) the observed share needing a human is near the mean probability."""
    probabilities = np.array([assess(r.ticket).escalation_probability for r in held_out])
    needs = np.array([1.0 if r.urgency >= 4 else 0.0 for r in held_out])
    brier = float(np.mean((probabilities - needs) ** 2))
    base_rate = float(needs.mean())
    assert brier < 0.6 * float(np.mean((base_rate - needs) ** 2))
    order = np.argsort(probabilities)
    for part in np.array_split(order, 3):
        assert abs(probabilities[part].mean() - needs[part].mean()) < 0.15


def test_recall_at_the_fitted_precision_on_the_held_out_split(held_out: list[LabeledTicket]) -> None:
    flagged = [(assess(r.ticket).escalation_risk, r.urgency >= 4) for r in held_out]
    true_positives = sum(f and y for f, y in flagged)
    assert true_positives / sum(f for f, _ in flagged) >= 0.85  # precision
    assert true_positives / sum(y for _, y in flagged) >= 0.80  # recall


@pytest.mark.parametrize(
    "body",
    [
        "Quick one: I received a password reset email I never requested. Probably nothing.",
        "Hi, small thing, all the invoices from last month disappeared from the list.",
        "The dashboard is down for all 200 users of our team.",
    ],
)
def test_the_rules_non_negotiables_escalate_however_calm_the_ticket(body: str) -> None:
    answer = ask("urgency_detection", "Hello", body)
    assert answer["escalation_risk"] is True and answer["score"] >= 4


def test_a_routine_question_from_an_enterprise_customer_is_not_escalated() -> None:
    answer = ask(
        "urgency_detection", "Question", "Where can I change the logo on our reports?", tier="enterprise"
    )
    assert answer["escalation_risk"] is False and answer["score"] <= 3


def test_the_score_agrees_with_the_decision() -> None:
    for body in (
        "Checkout has been returning 500 for every customer since 10:05, we're losing orders.",
        "How do I add a teammate?",
    ):
        answer = ask("urgency_detection", "Help", body)
        assert answer["escalation_risk"] == (answer["score"] >= 4)
