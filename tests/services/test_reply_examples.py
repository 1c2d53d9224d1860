"""Approved replies reach the offline reply drafter: an approval is used for the next similar ticket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.local_models.conftest import ask
from triage.local_models import examples
from triage.models import Router, Ticket
from triage.services.reply_examples import reply_examples, reply_examples_connect
from triage.web.services import reply_approve

pytestmark = pytest.mark.django_db

OLD_SUBJECT = "Charged twice for invoice INV-3382"
OLD_BODY = (
    "Hi, I was charged twice on invoice INV-3382 for $49.00 this month. "
    "Can you check what happened?\n\nThanks,\nMaria"
)
APPROVED = (
    "Hi Maria,\n\nSorry about the double charge on INV-3382. Our billing team will reverse the "
    "duplicate $49.00 payment, which usually shows up within 5 business days.\n\nBest,\nTom"
)
NEW_SUBJECT = "Charged twice on invoice INV-4410"
NEW_BODY = (
    "Hello, I see two charges for invoice INV-4410 ($49.00) this month. "
    "Can you check what happened?\n\nBest regards,\nJonas"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The drafter's source reads the database's approvals through a fresh registration and this clock."""
    clock = Clock()
    monkeypatch.setattr(examples, "time", clock)
    monkeypatch.setattr(examples, "_source", examples._source)  # put back after the test
    reply_examples_connect()
    return clock


@pytest.fixture
def make_ticket() -> Callable[..., Ticket]:
    router = Router.objects.create(name="examples-router")

    def make(subject: str, body: str, **fields: Any) -> Ticket:
        fields.setdefault("status", Ticket.Status.TRIAGED)  # replies are approved once triage is done
        return Ticket.objects.create(router=router, subject=subject, body=body, **fields)

    return make


def draft_for(subject: str, body: str) -> str:
    return str(ask("draft_customer_reply", subject, body)["reply"])


def test_an_approved_reply_is_used_for_the_next_similar_ticket(
    clock: Clock, make_ticket: Callable[..., Ticket], agent_user: User
) -> None:
    assert "reverse the duplicate" not in draft_for(NEW_SUBJECT, NEW_BODY)

    reply_approve(ticket=make_ticket(OLD_SUBJECT, OLD_BODY), text=APPROVED, user=agent_user)
    clock.now += examples.RECHECK_SECONDS

    reply = draft_for(NEW_SUBJECT, NEW_BODY)
    assert "reverse the duplicate" in reply
    assert reply.startswith("Hi Jonas,") and "INV-4410" in reply
    assert "3382" not in reply and "Maria" not in reply


def test_an_unrelated_ticket_does_not_get_the_approved_reply(
    clock: Clock, make_ticket: Callable[..., Ticket], agent_user: User
) -> None:
    reply_approve(ticket=make_ticket(OLD_SUBJECT, OLD_BODY), text=APPROVED, user=agent_user)

    reply = draft_for(
        "Need a VAT invoice", "Can you send us an invoice with our VAT number on it for last month?"
    )
    assert "reverse the duplicate" not in reply and "3382" not in reply


def test_drafts_between_checks_do_not_query_the_database(
    clock: Clock,
    make_ticket: Callable[..., Ticket],
    agent_user: User,
    django_assert_num_queries: Any,
) -> None:
    reply_approve(ticket=make_ticket(OLD_SUBJECT, OLD_BODY), text=APPROVED, user=agent_user)
    draft_for(NEW_SUBJECT, NEW_BODY)  # loads the examples

    with django_assert_num_queries(0):
        draft_for(NEW_SUBJECT, NEW_BODY)
    clock.now += examples.RECHECK_SECONDS
    with django_assert_num_queries(1):  # the version only: nothing was approved meanwhile
        assert "INV-4410" in draft_for(NEW_SUBJECT, NEW_BODY)


def test_a_changed_approval_replaces_the_old_one(
    clock: Clock, make_ticket: Callable[..., Ticket], agent_user: User
) -> None:
    ticket = make_ticket(OLD_SUBJECT, OLD_BODY)
    reply_approve(ticket=ticket, text=APPROVED, user=agent_user)
    assert "reverse the duplicate" in draft_for(NEW_SUBJECT, NEW_BODY)

    edited = "Hi Maria,\n\nOur billing team will check both charges on INV-3382 and refund the duplicate."
    reply_approve(ticket=ticket, text=edited, user=agent_user)
    clock.now += examples.RECHECK_SECONDS

    reply = draft_for(NEW_SUBJECT, NEW_BODY)
    assert "check both charges on INV-4410" in reply and "reverse the duplicate" not in reply


def test_examples_carry_the_ticket_language_detected_when_it_was_not_stored(
    make_ticket: Callable[..., Ticket], agent_user: User
) -> None:
    german = make_ticket(
        "Rechnung INV-5512 doppelt abgebucht",
        "Hallo, für die Rechnung INV-5512 wurde uns der Betrag doppelt abgebucht. Bitte prüfen Sie das.",
    )
    french = make_ticket("Facture", "Bonjour, la facture est fausse.", language="fr")
    reply_approve(ticket=german, text="Hallo, wir prüfen die Rechnung INV-5512.", user=agent_user)
    reply_approve(ticket=french, text="Bonjour, nous vérifions la facture.", user=agent_user)

    assert [(example.subject, example.language) for example in reply_examples()] == [
        ("Facture", "fr"),  # newest first
        ("Rechnung INV-5512 doppelt abgebucht", "de"),
    ]


def test_the_customer_named_at_the_end_of_a_long_ticket_never_reaches_another_reply(
    clock: Clock, make_ticket: Callable[..., Ticket], agent_user: User
) -> None:
    log = "\n".join(f"12:{minute:02d} export worker retrying batch" for minute in range(60)) * 3
    old_body = f"The CSV export fails with error E1042 every night.\n{log}\n\nThanks,\nMaria"
    ticket = make_ticket("Nightly export fails with E1042", old_body)
    approved = (
        "Thanks for the logs, Maria: error E1042 comes from a timeout, so please export smaller ranges."
    )
    reply_approve(ticket=ticket, text=approved, user=agent_user)

    reply = draft_for(
        "Nightly export fails with E1042", f"The CSV export fails with error E1042 every night.\n{log}"
    )
    assert "Maria" not in reply
