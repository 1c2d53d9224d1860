"""Freshdesk: read automation-rule webhooks; write the triage result back as priority, tags, private note.

Setting it up:

1. The connector signs in with an agent's API key (Profile settings > View API key) as HTTP basic auth
   ``api_key:X``: "If you use the API key, there is no need for a password. You can use any set of
   characters as a dummy password" (https://developers.freshdesk.com/api/#authentication).
2. Admin > Workflows > Automations > Ticket creation: a rule whose action is *Trigger webhook*, request
   type POST, encoding JSON, content *Advanced*, with :data:`WEBHOOK_BODY_TEMPLATE` as the body
   (https://support.freshdesk.com/support/solutions/articles/132589-using-webhooks-in-automation-rules).
   The *Simple* content type, which sends the selected fields as ``{"freshdesk_webhook": {"ticket_id":
   ..., "ticket_subject": ..., ...}}``, is read too.
3. Freshdesk does not sign webhooks. Authenticate them with a per-connector shared secret that the
   admin adds in the webhook action's **custom headers**: either ``X-Triage-Secret: <secret>`` or
   ``Authorization: Bearer <secret>``. :func:`webhook_authentic` compares it in constant time and refuses
   every request when no secret is configured.

Customer tier: a ticket tag ``tier_<tier>`` (e.g. ``tier_enterprise``), or a ``customer_tier`` key the
admin adds to the body (for instance from a ticket or contact custom field placeholder).

Limitation, tags: Update Ticket's ``tags`` *replaces* the ticket's tag list and the v2 API has no
add-tags endpoint (https://developers.freshdesk.com/api/#update_ticket). Without help the write-back
would wipe the tags an agent or another rule put on the ticket, so :func:`writeback_requests` takes the
ticket's current tags (``existing_tags``, e.g. ``IncomingTicket.tags`` from the webhook) and sends their
union with ours. Tags changed between the webhook and the write-back can still be lost: a read-modify-
write without a lock.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
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
    note_html,
    plain_text,
    required_credentials,
    tag_list,
    text_field,
    ticket_id,
    unique,
)

KIND = "freshdesk"
CREDENTIAL_FIELDS: tuple[str, ...] = ("api_key",)

# Ticket priority values: Low 1, Medium 2, High 3, Urgent 4 (https://developers.freshdesk.com/api/#tickets)
PRIORITY_VALUES: dict[str, int] = {"low": 1, "medium": 2, "high": 3, "urgent": 4}
DEFAULT_MAPPING = FieldMapping(
    category_tags={},
    priority_by_urgency={1: "low", 2: "medium", 3: "medium", 4: "high", 5: "urgent"},
    allowed_priorities=tuple(PRIORITY_VALUES),
)

SECRET_HEADER = "X-Triage-Secret"  # noqa: S105 - a header name, not a secret
SIMPLE_WRAPPER = "freshdesk_webhook"

# The JSON body for the automation rule's webhook action (content: Advanced). Placeholders
# ({{ticket.id}}, {{ticket.subject}}, {{ticket.description}} (HTML), {{ticket.requester.email}},
# {{ticket.requester.name}}, {{ticket.tags}}) as listed under "Insert placeholder" in the rule editor
# (https://support.freshdesk.com/support/solutions/articles/132589-using-webhooks-in-automation-rules).
# Same keys as the Simple content type, so one reader serves both.
WEBHOOK_BODY_TEMPLATE = """{
  "freshdesk_webhook": {
    "ticket_id": "{{ticket.id}}",
    "ticket_subject": "{{ticket.subject}}",
    "ticket_description": "{{ticket.description}}",
    "ticket_requester_email": "{{ticket.requester.email}}",
    "ticket_requester_name": "{{ticket.requester.name}}",
    "ticket_tags": "{{ticket.tags}}"
  }
}"""


def auth_header(credentials: Mapping[str, str]) -> str:
    """``Basic base64({api_key}:X)``; ``ValueError`` names a missing credential."""
    (api_key,) = required_credentials(credentials, CREDENTIAL_FIELDS)
    return basic_auth(api_key, "X")


def webhook_authentic(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    max_age_seconds: int = 300,
) -> bool:
    """True when the request carries the connector's shared secret (see the module docstring).

    Freshdesk sends no signature or timestamp, so ``body``, ``now`` and ``max_age_seconds`` are unused;
    they keep the signature every helpdesk module shares.
    """
    del body, now, max_age_seconds
    if not secret:
        return False
    expected = secret.encode()
    sent = header_value(headers, SECRET_HEADER).strip()
    if sent and hmac.compare_digest(expected, sent.encode("utf-8", "replace")):
        return True
    scheme, _, token = header_value(headers, "Authorization").strip().partition(" ")
    bearer = token.strip().encode("utf-8", "replace")
    return scheme.lower() == "bearer" and hmac.compare_digest(expected, bearer)


def incoming_ticket(payload: Any) -> IncomingTicket:
    """The ticket in a webhook body: :data:`WEBHOOK_BODY_TEMPLATE`, the Simple content type, or flat keys.

    The HTML description is converted to plain text. Raises :class:`PayloadInvalid` naming the field.
    """
    data = json_object(payload)
    prefix = ""
    if SIMPLE_WRAPPER in data:
        data = data[SIMPLE_WRAPPER]
        prefix = SIMPLE_WRAPPER + "."
        if not isinstance(data, dict):
            raise PayloadInvalid(f"{SIMPLE_WRAPPER}: expected an object")
    raw_id = next((data[k] for k in ("ticket_id", "id") if data.get(k) not in (None, "")), None)
    external_id = ticket_id(raw_id, field_name=prefix + "ticket_id")
    subject = text_field(data, ("ticket_subject", "subject"), label=prefix + "ticket_subject")
    body = plain_text(
        text_field(
            data,
            ("ticket_description_text", "description_text", "ticket_description", "description"),
            label=prefix + "ticket_description",
        )
    )
    if not subject and not body:
        raise PayloadInvalid(f"{prefix}ticket_description: the ticket has no subject and no description")
    email = text_field(
        data,
        ("ticket_requester_email", "ticket_contact_email", "requester_email", "email"),
        label=prefix + "ticket_requester_email",
    )
    name = text_field(
        data,
        ("ticket_requester_name", "ticket_contact_name", "requester_name", "name"),
        label=prefix + "ticket_requester_name",
    )
    raw_tags = next((data[k] for k in ("ticket_tags", "tags") if k in data), None)
    tags = tag_list(raw_tags, label=prefix + "ticket_tags")
    tier = customer_tier(
        text_field(
            data,
            ("customer_tier", "ticket_customer_tier", "ticket_cf_customer_tier", "cf_customer_tier"),
            label=prefix + "customer_tier",
        ),
        tags,
    )
    return IncomingTicket(
        external_id=external_id,
        subject=subject,
        body=body,
        requester_email=email,
        requester_name=name,
        customer_tier=tier,
        tags=tags,
    )


def writeback_requests(
    outcome: TriageOutcome, mapping: FieldMapping, *, existing_tags: Sequence[str] = ()
) -> list[HelpdeskRequest]:
    """Update Ticket (priority 1..4 and tags), then a private note with the note as escaped HTML.

    ``tags`` replaces Freshdesk's list, so pass the ticket's current tags as ``existing_tags`` to keep
    them (see the module docstring). Priority is left alone when the urgency is unknown.
    """
    ticket = check_outcome(outcome)
    requests: list[HelpdeskRequest] = []
    update: dict[str, Any] = {}
    priority = mapping.priority_for(outcome.urgency_score)
    if priority:
        if priority not in PRIORITY_VALUES:
            known = ", ".join(PRIORITY_VALUES)
            raise ValueError(f"priority {priority!r} is not a Freshdesk priority ({known})")
        update["priority"] = PRIORITY_VALUES[priority]
    ours = mapping.tags_for(outcome)
    if ours:
        update["tags"] = unique([*(t for t in existing_tags if t.strip()), *ours])
    if update:
        # Update a ticket: PUT /api/v2/tickets/[id] (https://developers.freshdesk.com/api/#update_ticket)
        requests.append(HelpdeskRequest("PUT", f"/api/v2/tickets/{ticket}", update))
    if outcome.note.strip():
        # Add note: POST /api/v2/tickets/[id]/notes {"body": html, "private": true}
        # (https://developers.freshdesk.com/api/#add_note_to_a_ticket). The note is model output: every
        # character is escaped, newlines become <br>.
        requests.append(
            HelpdeskRequest(
                "POST", f"/api/v2/tickets/{ticket}/notes", {"body": note_html(outcome.note), "private": True}
            )
        )
    return requests
