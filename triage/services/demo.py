"""Demo users and the triage article's sample tickets, for ``make run``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction

from triage.models import Ticket
from triage.presets import AGENTS_GROUP, SAMPLE_TICKETS
from triage.services.tickets import ticket_submit

DEMO_AGENT = "demo-agent"
DEMO_ADMIN = "demo-admin"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str | None  # None when the user already existed: its password is not ours to show


def _ensure_user(username: str, *, staff: bool) -> DemoLogin:
    if User.objects.filter(username=username).exists():
        return DemoLogin(username, None)
    password = secrets.token_urlsafe(9)
    if staff:
        user = User.objects.create_superuser(username, f"{username}@example.com", password)
    else:
        user = User.objects.create_user(username, f"{username}@example.com", password)
    user.groups.add(Group.objects.get_or_create(name=AGENTS_GROUP)[0])
    return DemoLogin(username, password)


@transaction.atomic
def demo_data_load() -> tuple[list[DemoLogin], list[Ticket]]:
    """Create the demo agent and admin, and the sample tickets that aren't there yet."""
    logins = [_ensure_user(DEMO_AGENT, staff=False), _ensure_user(DEMO_ADMIN, staff=True)]
    created = []
    for sample in SAMPLE_TICKETS:
        if Ticket.objects.filter(subject=sample["subject"], body=sample["body"]).exists():
            continue
        created.append(
            ticket_submit(
                subject=sample["subject"],
                body=sample["body"],
                customer_tier=sample.get("customer_tier", Ticket.Tier.FREE),
                channel=Ticket.Channel.WEB,
            )
        )
    return logins, created
