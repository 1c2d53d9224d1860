"""Tickets and the four triage steps recorded on each."""

from __future__ import annotations

from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db import models

from .apikeys import ApiKey
from .routing import Router

MAX_SUBJECT = 200
MAX_BODY = 64 * 1024


class Ticket(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRIAGING = "triaging", "Triaging"
        TRIAGED = "triaged", "Triaged"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    class Channel(models.TextChoices):
        API = "api", "API"
        WEB = "web", "Web"
        COMPAT = "compat", "Compatibility API (/triage)"
        EMAIL = "email", "Email"
        ZENDESK = "zendesk", "Zendesk"
        FRESHDESK = "freshdesk", "Freshdesk"

    class Tier(models.TextChoices):
        FREE = "free", "Free"
        PRO = "pro", "Pro"
        BUSINESS = "business", "Business"
        ENTERPRISE = "enterprise", "Enterprise"

    subject = models.CharField(
        max_length=MAX_SUBJECT, validators=[MinLengthValidator(1), MaxLengthValidator(MAX_SUBJECT)]
    )
    body = models.TextField(validators=[MaxLengthValidator(MAX_BODY)])
    customer_tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.FREE)
    account_id = models.CharField(max_length=64, blank=True)
    # ISO 639-1 code detected offline when the ticket arrives; "" when the text doesn't say.
    language = models.CharField(max_length=8, blank=True, help_text="Detected when the ticket arrived.")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.API)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    router = models.ForeignKey(Router, on_delete=models.PROTECT, related_name="tickets")
    # The key that submitted the ticket through the API; an Idempotency-Key is unique per API key
    # (constraint below), so one client can't read another's ticket by reusing its key.
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    # Tickets from a connector: the email's Message-ID or the helpdesk's ticket id (unique per
    # connector, so a redelivered email or webhook is the same ticket), and who wrote in.
    connector = models.ForeignKey(
        "triage.Connector", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    external_id = models.CharField(max_length=255, blank=True)
    # the helpdesk ticket's tags when it came in: Freshdesk's write-back replaces the tag list, so it
    # sends these with ours to keep the agents' own
    external_tags = models.JSONField(default=list, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker has started triaging this ticket; caps redeliveries after crashes.
    triage_runs = models.PositiveSmallIntegerField(default=0)
    # The run that owns the ticket while it is triaging, and until when: the run renews the lease
    # while it works, so one that stops renewing (its worker died) is taken over once it runs out.
    run_id = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attention_reason = models.TextField(blank=True, help_text="Why the ticket needs attention or failed.")
    # Copied from the current classify / urgency steps so lists filter on plain indexed columns.
    category = models.CharField(max_length=40, blank=True)
    urgency_score = models.PositiveSmallIntegerField(null=True, blank=True)
    escalated = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="ticket_newest_first"),
            models.Index(fields=["status", "-created_at"], name="ticket_status_created"),
            models.Index(fields=["category", "-created_at"], name="ticket_category_created"),
            models.Index(fields=["urgency_score", "-created_at"], name="ticket_urgency_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="ticket_idempotency_key_per_api_key",
            ),
            models.UniqueConstraint(
                fields=["connector", "external_id"],
                condition=~models.Q(external_id=""),
                name="ticket_external_id_per_connector",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class TriageStep(models.Model):
    """One subtask's run on a ticket. Re-runs add a new row; the previous one stops being current."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="steps")
    task_name = models.CharField(max_length=100)
    is_current = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    result = models.JSONField(null=True, blank=True)
    raw_output = models.TextField(blank=True)
    served_by = models.CharField(max_length=120, blank=True)
    attempts = models.JSONField(default=list, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=16, decimal_places=10, default=0)
    error = models.TextField(blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)
    # The cascade: every answer it got ([{model, result, confidence, doubt, kept}]) and why it escalated.
    answers = models.JSONField(default=list, blank=True)
    escalation_reason = models.CharField(max_length=200, blank=True)
    # Served, but not as configured: the last-resort local model after real failures, or a default.
    degraded = models.BooleanField(default=False)
    # The run that claimed the step: only that run writes its result.
    run_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # "-ticket_id", not "-ticket": ordering by the relation would follow Ticket's own ordering and
        # join triage_ticket into every query of steps (the worker runs several per ticket)
        ordering = ["-ticket_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "task_name"],
                condition=models.Q(is_current=True),
                name="one_current_step_per_task",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name} on #{self.ticket_id} ({self.status})"
