"""``manage.py ingest_email < message.eml``: one raw RFC 822 message becomes a ticket (or joins its
thread). For a mail server: a pipe from Postfix (``|/app/.venv/bin/python /app/manage.py ingest_email``),
procmail or fetchmail's mda. Exit codes follow sysexits, which mail servers understand: 0 done, 65 the
input is not an email (don't retry), 75 a temporary failure such as the database being down (retry)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from triage.connectors.email_parsing import EmailParseError, parse_rfc822
from triage.models import Connector
from triage.services.inbound import email_ingest
from triage.services.tickets import validation_error_text

EX_DATAERR = 65
EX_TEMPFAIL = 75
DEFAULT_SOURCE = "email"


class Command(BaseCommand):
    help = "Read one raw email (RFC 822) from standard input and file it as a ticket, once per Message-ID."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source",
            default=DEFAULT_SOURCE,
            help=f"Connector name (kind 'raw email'); '{DEFAULT_SOURCE}' is created on first use.",
        )

    def handle(self, *args: Any, source: str = DEFAULT_SOURCE, **options: Any) -> None:
        raw = sys.stdin.buffer.read()
        try:
            connector = self._connector(source)
            email = parse_rfc822(raw, keep_attachments=connector.keep_attachments)
            result = email_ingest(connector=connector, email=email)
        except (EmailParseError, ValidationError) as exc:
            text = validation_error_text(exc) if isinstance(exc, ValidationError) else str(exc)
            self.stderr.write(f"not filed: {text}")
            sys.exit(EX_DATAERR)
        except DatabaseError as exc:
            self.stderr.write(f"not filed, try again later: {type(exc).__name__}: {exc}")
            sys.exit(EX_TEMPFAIL)
        ticket = result.ticket
        if result.created:
            self.stdout.write(f"ticket #{ticket.pk} created from {email.message_id}")
        elif result.appended:
            self.stdout.write(f"added to ticket #{ticket.pk} (a reply in its thread)")
        else:
            self.stdout.write(f"already filed as ticket #{ticket.pk}")

    def _connector(self, name: str) -> Connector:
        connector = Connector.objects.filter(name=name).first()
        if connector is None and name == DEFAULT_SOURCE:
            connector, _ = Connector.objects.get_or_create(name=name, defaults={"kind": Connector.Kind.EMAIL})
        if connector is None:
            self.stderr.write(f"no connector named {name!r}")
            sys.exit(EX_DATAERR)
        return connector
