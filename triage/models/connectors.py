"""Connectors: where tickets come in from (email, helpdesks) and where results go out to (write-back to
the helpdesk, signed webhooks), with a durable log of every outbound delivery."""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .routing import Router, check_web_url
from .tickets import Ticket


def secret_env_allowed(name: str) -> bool:
    """Whether a connector or webhook may read this environment variable (TRIAGE_CONNECTOR_SECRET_ENVS).

    An admin edits helpdesk base URLs and webhook URLs: a connector naming any variable (DATABASE_URL,
    SECRET_KEY) would send its value to a URL of the admin's choosing, so only these are ever read."""
    return name in settings.TRIAGE_CONNECTOR_SECRET_ENVS


def secret_env_value(name: str) -> str:
    """The variable's value, or "" when it is unset or not allowed."""
    return os.environ.get(name, "") if name and secret_env_allowed(name) else ""


def _check_env_names(field: str, names: list[str]) -> None:
    bad = [n for n in names if n and not secret_env_allowed(n)]
    if bad:
        allowed = ", ".join(settings.TRIAGE_CONNECTOR_SECRET_ENVS) or "none"
        raise ValidationError(
            {
                field: f"{', '.join(bad)}: not an allowed variable (allowed: {allowed}). "
                "The server's operator adds names to TRIAGE_CONNECTOR_SECRET_ENVS."
            }
        )


class DeliveryTarget(models.Model):
    """Health of somewhere we deliver to: consecutive failures back every delivery to it off, and
    too many in a row disable it until an admin turns it back on."""

    consecutive_failures = models.PositiveIntegerField(default=0)
    # while failing (or rate-limited): no delivery to this target is tried before this time
    retry_at = models.DateTimeField(null=True, blank=True)
    max_consecutive_failures = models.PositiveIntegerField(
        default=20, help_text="Disabled after this many failed attempts in a row (backing off between them)."
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True

    def clean(self) -> None:
        if self.max_consecutive_failures == 0:
            raise ValidationError(
                {"max_consecutive_failures": "At least 1: with 0 the first failed attempt turns it off."}
            )


class Connector(DeliveryTarget):
    """One inbound door (an email source or a helpdesk account) and, for helpdesks, its write-back."""

    class Kind(models.TextChoices):
        POSTMARK = "postmark", "Email: Postmark inbound"
        MAILGUN = "mailgun", "Email: Mailgun routes"
        SENDGRID = "sendgrid", "Email: SendGrid Inbound Parse"
        EMAIL = "email", "Email: raw message (manage.py ingest_email)"
        ZENDESK = "zendesk", "Zendesk"
        FRESHDESK = "freshdesk", "Freshdesk"

    EMAIL_KINDS = (Kind.POSTMARK, Kind.MAILGUN, Kind.SENDGRID, Kind.EMAIL)
    HELPDESK_KINDS = (Kind.ZENDESK, Kind.FRESHDESK)

    name = models.SlugField(
        max_length=64,
        unique=True,
        help_text="In the inbound URL: /inbound/email/<name>, /inbound/zendesk/<name>.",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(default=True, help_text="A disabled connector's door answers 404.")
    router = models.ForeignKey(
        Router,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="connectors",
        help_text="Router that triages its tickets (empty: the default router).",
    )
    secret_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Environment variable holding the inbound secret: Mailgun's webhook signing key, "
        "Zendesk's webhook signing secret, or the shared token for Postmark, SendGrid and Freshdesk.",
    )
    base_url = models.URLField(blank=True, help_text="Helpdesks: e.g. https://acme.zendesk.com")
    credential_envs = models.JSONField(
        default=dict,
        blank=True,
        help_text='Helpdesks: environment variable per credential, e.g. {"email": "ZENDESK_EMAIL", '
        '"api_token": "ZENDESK_API_TOKEN"} or {"api_key": "FRESHDESK_API_KEY"}.',
    )
    write_back = models.BooleanField(
        default=True, help_text="Helpdesks: write category, priority and a private note back when triaged."
    )
    mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text="Helpdesks: overrides of the default mapping, e.g. "
        '{"priority_by_urgency": {"5": "urgent"}, '
        '"category_tags": {"billing": "billing"}, "tag_prefix": "triage_"}.',
    )
    keep_attachments = models.BooleanField(
        default=False, help_text="Email: store attachments (otherwise only name, type and size are kept)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_email(self) -> bool:
        return self.kind in self.EMAIL_KINDS

    @property
    def is_helpdesk(self) -> bool:
        return self.kind in self.HELPDESK_KINDS

    def clean(self) -> None:
        super().clean()
        if self.kind != self.Kind.EMAIL and not self.secret_env:
            raise ValidationError(
                {
                    "secret_env": "Name the variable holding this door's secret: without it every "
                    "request is refused."
                }
            )
        _check_env_names("secret_env", [self.secret_env])
        check_web_url("base_url", self.base_url)
        if not isinstance(self.credential_envs, dict):
            raise ValidationError({"credential_envs": "A JSON object: credential name → variable name."})
        _check_env_names("credential_envs", [str(v) for v in self.credential_envs.values()])
        if self.is_helpdesk:
            from triage.connectors.helpdesks import helpdesk
            from triage.connectors.helpdesks.base import FieldMapping

            module = helpdesk(self.kind)
            if self.write_back and not self.base_url:
                raise ValidationError({"base_url": "Write-back needs the helpdesk's base URL."})
            missing = [c for c in module.CREDENTIAL_FIELDS if not self.credential_envs.get(c)]
            if self.write_back and missing:
                raise ValidationError(
                    {"credential_envs": f"Write-back needs a variable for: {', '.join(missing)}."}
                )
            try:
                FieldMapping.from_json(self.mapping or {}, default=module.DEFAULT_MAPPING)
            except ValueError as exc:
                raise ValidationError({"mapping": str(exc)}) from None


class WebhookEndpoint(DeliveryTarget):
    """A URL that receives signed JSON for the events it subscribes to."""

    class Event(models.TextChoices):
        TRIAGED = "ticket.triaged", "ticket.triaged"
        NEEDS_ATTENTION = "ticket.needs_attention", "ticket.needs_attention"
        ESCALATED = "ticket.escalated", "ticket.escalated"
        REPLY_APPROVED = "ticket.reply_approved", "ticket.reply_approved"
        BUDGET_WARNING = "budget.warning", "budget.warning"
        BUDGET_EXCEEDED = "budget.exceeded", "budget.exceeded"

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    events = models.JSONField(
        default=list, help_text='Events to send, e.g. ["ticket.triaged", "ticket.escalated"].'
    )
    secret_env = models.CharField(
        max_length=100, help_text="Environment variable holding the signing secret (HMAC-SHA256)."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        _check_env_names("secret_env", [self.secret_env])
        check_web_url("url", self.url)
        known = set(self.Event.values)
        if not isinstance(self.events, list) or not self.events or not set(self.events) <= known:
            raise ValidationError({"events": f"A list of one or more of: {', '.join(sorted(known))}."})


class Delivery(models.Model):
    """One event for one target, kept until delivered or given up; the log admins read.

    Written in the same transaction as what caused it (a ticket settling, a reply approved), so a
    crash can't lose it; a worker sends it, and a periodic sweep sends what is due or was dropped."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    WRITE_BACK = "helpdesk.write_back"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="The delivery id.")
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    connector = models.ForeignKey(
        Connector, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # requests of a multi-request write-back already accepted (a retry resumes after them)
    progress = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # a worker sending it holds it until then; one that died lets it go when the time passes
    claimed_until = models.DateTimeField(null=True, blank=True)
    # the sweep put it on the queue for a worker: it doesn't queue it again before then (a backlog
    # would otherwise fill with copies); cleared when a worker records an answer
    queued_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(endpoint__isnull=False, connector__isnull=True)
                | models.Q(endpoint__isnull=True, connector__isnull=False),
                name="delivery_has_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.target} ({self.status})"

    @property
    def target(self) -> Connector | WebhookEndpoint:
        target = self.endpoint or self.connector
        assert target is not None
        return target


class TicketMessage(models.Model):
    """A message of a ticket's thread that came in by email (the first one and every reply)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    connector = models.ForeignKey(Connector, null=True, blank=True, on_delete=models.SET_NULL)
    message_id = models.CharField(
        max_length=255, help_text="The email's Message-ID (or one derived from it)."
    )
    sender_email = models.CharField(max_length=254, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    attachments = models.JSONField(default=list, blank=True, help_text="[{name, content_type, size, stored}]")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["message_id"], name="ticketmessage_message_id")]
        constraints = [
            models.UniqueConstraint(fields=["connector", "message_id"], name="one_message_per_connector")
        ]

    def __str__(self) -> str:
        return f"{self.message_id} on #{self.ticket_id}"
