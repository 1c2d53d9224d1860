"""Zendesk Support: read ticket webhooks, write the triage result back as tags, priority and a private note.

Setting it up (Admin Center):

1. Apps and integrations > APIs > Zendesk API: turn on token access and create an API token. The
   connector signs in as ``{email}/token:{api_token}`` with HTTP basic auth
   (https://developer.zendesk.com/api-reference/introduction/security-and-auth/).
2. Apps and integrations > Webhooks > Create webhook, request format JSON, method POST, pointed at our
   endpoint. Copy the webhook's *signing secret* into the connector: every request carries
   ``X-Zendesk-Webhook-Signature`` = base64(HMAC-SHA256(timestamp + body)) and
   ``X-Zendesk-Webhook-Signature-Timestamp`` (https://developer.zendesk.com/documentation/webhooks/verifying/).
3. Either connect it to a *trigger* ("Ticket is Created", action "Notify active webhook") and paste
   :data:`WEBHOOK_BODY_TEMPLATE` as the JSON body, or subscribe the webhook to the event
   ``zen:event-type:ticket.created`` (https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/).
   The event payload carries only the requester's *id*, so with it ``requester_email`` and
   ``requester_name`` are "" — prefer the trigger when the email matters.

Customer tier: give organizations (or users) a tag such as ``tier_enterprise``; Zendesk copies an
organization's tags onto its tickets, and the ``tier_`` tag sets ``IncomingTicket.customer_tier``. A
``customer_tier`` key added to the trigger body works too.

Write-back: Update Ticket's ``tags`` *replaces* the ticket's tags, and Zendesk documents
``additional_tags`` only for the bulk Update Many Tickets endpoint
(https://developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags/).
So tags go through the Add Tags endpoint, which merges (``PUT /api/v2/tickets/{id}/tags.json``,
https://developer.zendesk.com/api-reference/ticketing/ticket-management/tags/#add-tags), followed by
one Update Ticket carrying the priority and the private comment. (The tag endpoints refuse closed
tickets; a ticket being triaged is not closed.) Update Many would be a single request, but it queues a
background job: its 200 does not say whether the update applied. Adding a tag twice changes nothing,
so resending the whole list after a failure is safe; the comment goes last, so it is written once
unless its own answer is lost after Zendesk applied it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from triage.connectors.helpdesks.base import (
    FieldMapping,
    HelpdeskRequest,
    IncomingTicket,
    PayloadInvalid,
    TriageOutcome,
    basic_auth,
    check_outcome,
    customer_tier,
    header_value,
    json_object,
    plain_text,
    required_credentials,
    tag_list,
    text_field,
    ticket_id,
)

KIND = "zendesk"
CREDENTIAL_FIELDS: tuple[str, ...] = ("email", "api_token")

# Ticket priorities: "urgent", "high", "normal", "low"
# (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#json-format, "priority").
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
DEFAULT_MAPPING = FieldMapping(
    category_tags={},
    priority_by_urgency={1: "low", 2: "normal", 3: "normal", 4: "high", 5: "urgent"},
    allowed_priorities=PRIORITIES,
)

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
TICKET_CREATED_EVENT = "zen:event-type:ticket.created"

# The JSON body an admin pastes into the trigger's "Notify active webhook" action. Placeholders
# (https://support.zendesk.com/hc/en-us/articles/4408886858138-Zendesk-placeholders-reference):
# ticket.id, ticket.title (the subject), ticket.description (the first comment),
# ticket.requester.email / .name, ticket.tags (space-separated). Sent to a webhook they render as
# unformatted text, not HTML.
WEBHOOK_BODY_TEMPLATE = """{
  "ticket_id": "{{ticket.id}}",
  "subject": "{{ticket.title}}",
  "description": "{{ticket.description}}",
  "requester_email": "{{ticket.requester.email}}",
  "requester_name": "{{ticket.requester.name}}",
  "tags": "{{ticket.tags}}"
}"""


def auth_header(credentials: Mapping[str, str]) -> str:
    """``Basic base64({email}/token:{api_token})``; ``ValueError`` names a missing credential."""
    # API token auth: "{email_address}/token:{api_token}" as basic-auth user:password
    # (https://developer.zendesk.com/api-reference/introduction/security-and-auth/; the curl examples in
    # https://developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags/
    # use -u {email_address}/token:{api_token})
    email, token = required_credentials(credentials, CREDENTIAL_FIELDS)
    return basic_auth(f"{email}/token", token)


def webhook_authentic(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    max_age_seconds: int = 300,
) -> bool:
    """True when the request carries Zendesk's signature over ``body`` for ``secret``.

    Signature = base64(HMAC-SHA256(key=signing secret, msg=timestamp + body)), compared in constant time
    (https://developer.zendesk.com/documentation/webhooks/verifying/). A timestamp we can parse (ISO 8601,
    as Zendesk sends it, or Unix seconds) more than ``max_age_seconds`` away from now is refused as a
    replay.
    """
    signature = header_value(headers, SIGNATURE_HEADER).strip()
    timestamp = header_value(headers, TIMESTAMP_HEADER).strip()
    if not secret or not signature or not timestamp:
        return False
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        return False
    signed_at = _timestamp(timestamp)
    if signed_at is None:
        return True
    current = time.time() if now is None else now
    return abs(current - signed_at) <= max_age_seconds


def incoming_ticket(payload: Any) -> IncomingTicket:
    """The ticket in a trigger webhook (:data:`WEBHOOK_BODY_TEMPLATE`) or a ``ticket.created`` event.

    Accepts a parsed JSON object, or its raw ``bytes``/``str``. Raises :class:`PayloadInvalid` naming the
    missing or bad field.
    """
    data = json_object(payload)
    if "type" in data and "detail" in data:
        return _from_event(data)
    if isinstance(data.get("ticket"), dict):  # {"ticket": {...}}: a body an admin wrapped
        data = data["ticket"]
    return _from_fields(data, prefix="")


def writeback_requests(
    outcome: TriageOutcome, mapping: FieldMapping, *, existing_tags: Sequence[str] = ()
) -> list[HelpdeskRequest]:
    """Add Tags (merging, so the agent's tags stay), then Update Ticket with priority and a private note.

    ``existing_tags`` is accepted for the registry's common signature and ignored: Add Tags merges.
    Priority is left alone when the urgency is unknown.
    """
    del existing_tags
    ticket = check_outcome(outcome)
    requests: list[HelpdeskRequest] = []
    tags = mapping.tags_for(outcome)
    if tags:
        # Add Tags: PUT /api/v2/tickets/{ticket_id}/tags {"tags": [...]} adds without replacing
        # (https://developer.zendesk.com/api-reference/ticketing/ticket-management/tags/#add-tags)
        requests.append(HelpdeskRequest("PUT", f"/api/v2/tickets/{ticket}/tags.json", {"tags": tags}))
    update: dict[str, Any] = {}
    priority = mapping.priority_for(outcome.urgency_score)
    if priority:
        update["priority"] = priority
    if outcome.note.strip():
        # comment.public false makes it an internal note; body is plain text
        # (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#json-format)
        update["comment"] = {"body": outcome.note.strip(), "public": False}
    if update:
        # Update Ticket: PUT /api/v2/tickets/{ticket_id} {"ticket": {...}}
        # (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket)
        requests.append(HelpdeskRequest("PUT", f"/api/v2/tickets/{ticket}.json", {"ticket": update}))
    return requests


# --- payload shapes --------------------------------------------------------------------------------


def _from_event(data: dict[str, Any]) -> IncomingTicket:
    # Event webhooks: {"type": "zen:event-type:ticket.created", "detail": {id, subject, description,
    # requester_id, tags, ...}, "event": {...}, ...}
    # (https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/)
    event_type = data.get("type")
    if event_type != TICKET_CREATED_EVENT:
        raise PayloadInvalid(
            f"type: unsupported event {str(event_type)[:80]!r}; subscribe to {TICKET_CREATED_EVENT}"
        )
    detail = data.get("detail")
    if not isinstance(detail, dict):
        raise PayloadInvalid("detail: expected an object")
    return _from_fields(detail, prefix="detail.")


def _from_fields(data: Mapping[str, Any], *, prefix: str) -> IncomingTicket:
    raw_id = next((data[k] for k in ("ticket_id", "id") if data.get(k) not in (None, "")), None)
    external_id = ticket_id(raw_id, field_name=prefix + "ticket_id" if not prefix else prefix + "id")
    subject = text_field(data, ("subject", "title"), label=prefix + "subject")
    body = plain_text(text_field(data, ("description", "body"), label=prefix + "description"))
    if not subject and not body:
        raise PayloadInvalid(f"{prefix}description: the ticket has no subject and no description")
    requester = data.get("requester")
    nested = requester if isinstance(requester, dict) else {}
    email = text_field(data, ("requester_email",), label=prefix + "requester_email") or text_field(
        nested, ("email",), label=prefix + "requester.email"
    )
    name = text_field(data, ("requester_name",), label=prefix + "requester_name") or text_field(
        nested, ("name",), label=prefix + "requester.name"
    )
    tags = tag_list(data.get("tags"), label=prefix + "tags")
    tier = customer_tier(text_field(data, ("customer_tier", "tier"), label=prefix + "customer_tier"), tags)
    return IncomingTicket(
        external_id=external_id,
        subject=subject,
        body=body,
        requester_email=email,
        requester_name=name,
        customer_tier=tier,
        tags=tags,
    )


def _timestamp(value: str) -> float | None:
    if value.isdigit():
        return float(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None
