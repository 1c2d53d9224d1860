"""The one place that turns a ticket into the user message every model sees, and back.

Ticket text only ever travels in a *user* message; system prompts come from the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TicketText:
    subject: str
    body: str
    customer_tier: str = ""
    account_id: str = ""


_HEADER = re.compile(r"^(Subject|Customer tier|Account):[ \t]*(.*)$")


def ticket_message(ticket: TicketText) -> str:
    """Render a ticket as the user message: a few header lines, a blank line, then the body."""
    lines = [f"Subject: {_one_line(ticket.subject)}"]
    if ticket.customer_tier:
        lines.append(f"Customer tier: {_one_line(ticket.customer_tier)}")
    if ticket.account_id:
        lines.append(f"Account: {_one_line(ticket.account_id)}")
    return "\n".join(lines) + "\n\n" + ticket.body


def parse_ticket_message(text: str) -> TicketText:
    """Inverse of ``ticket_message``; text in any other shape is treated as a body with no subject."""
    head, sep, body = text.partition("\n\n")
    fields: dict[str, str] = {}
    for line in head.splitlines():
        match = _HEADER.match(line)
        if not match:
            return TicketText(subject="", body=text)
        fields[match.group(1)] = match.group(2)
    if "Subject" not in fields:
        return TicketText(subject="", body=text)
    return TicketText(
        subject=fields["Subject"],
        body=body if sep else "",
        customer_tier=fields.get("Customer tier", ""),
        account_id=fields.get("Account", ""),
    )


def _one_line(value: str) -> str:
    return " ".join(value.split())
