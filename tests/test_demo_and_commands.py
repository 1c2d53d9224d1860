"""The pieces `make run` and `make test` rely on."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from triage.models import Ticket
from triage.ticket_text import TicketText, parse_ticket_message, ticket_message

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_demo_data_creates_logins_once_and_the_seven_sample_tickets(presets: None) -> None:
    out = StringIO()
    call_command("load_demo_data", stdout=out)
    assert "demo-agent / " in out.getvalue() and "demo-admin / " in out.getvalue()
    assert Ticket.objects.count() == 7
    assert User.objects.get(username="demo-admin").is_staff
    assert not User.objects.get(username="demo-agent").is_staff
    again = StringIO()
    call_command("load_demo_data", stdout=again)
    assert " / " not in again.getvalue()  # passwords are shown once
    assert Ticket.objects.count() == 7


@pytest.mark.django_db
def test_queue_requires_login_and_lists_tickets(client: Client, agent_user: User, presets: None) -> None:
    call_command("load_demo_data", stdout=StringIO())
    assert client.get("/").status_code == 302
    client.force_login(agent_user)
    page = client.get("/").content.decode()
    assert "Production outage" in page and "Password reset" in page


def _backends(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "REQUIRE_SERVICES"}}
    return subprocess.run(
        [sys.executable, "scripts/test_backends.py"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
    )


def test_test_backends_falls_back_when_services_are_unreachable() -> None:
    result = _backends({"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"})
    assert result.returncode == 0
    assert "unset DATABASE_URL" in result.stdout
    assert "falling back" in result.stderr


def test_test_backends_fails_when_services_are_required_but_unreachable() -> None:
    result = _backends({"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x", "REQUIRE_SERVICES": "1"})
    assert result.returncode == 1
    assert "not reachable" in result.stderr


def test_test_backends_names_the_embedded_default() -> None:
    result = _backends({})
    assert result.returncode == 0 and "SQLite" in result.stderr


def test_ticket_message_round_trips() -> None:
    ticket = TicketText(subject="Invoice  question", body="Charged twice\n\non INV-3382", customer_tier="pro")
    parsed = parse_ticket_message(ticket_message(ticket))
    assert parsed == TicketText(
        subject="Invoice question", body="Charged twice\n\non INV-3382", customer_tier="pro"
    )


def test_text_in_another_shape_is_a_body_without_subject() -> None:
    assert parse_ticket_message("What are your support hours?") == TicketText(
        subject="", body="What are your support hours?"
    )
