"""The audit trail: one ``ModelCall`` row per attempt the routing service makes.

The row is written (``pending``, with the most the call can cost) before the request leaves, and
completed when it returns, so a paid call never goes unrecorded, even when its worker dies.
"""

from __future__ import annotations

from django.db import models

from .routing import LLMModel, Router
from .tickets import Ticket, TriageStep


class CallOutcome(models.TextChoices):
    # written before the request leaves; a row still pending after its worker died becomes interrupted
    PENDING = "pending", "In flight"
    INTERRUPTED = "interrupted", "Interrupted: possibly billed"
    OK = "ok", "OK"
    TIMEOUT = "timeout", "Timeout"
    RATE_LIMITED = "rate_limited", "Rate limited (429)"
    SERVER_ERROR = "server_error", "Server error (5xx / overloaded)"
    CONNECTION_ERROR = "connection_error", "Connection error"
    INVALID_OUTPUT = "invalid_output", "Invalid output"
    TRUNCATED = "truncated", "Truncated at the token limit"
    # a 4xx naming our request (a parameter, a value, the model's name): a configuration error
    REQUEST_REJECTED = "request_rejected", "Request refused by the provider"
    CONTEXT_TOO_LONG = "context_too_long", "Prompt too long for the model"
    # any other 4xx about this one request (its content, a message the provider refuses): no memory
    BAD_REQUEST = "bad_request", "Request refused by the provider (this request only)"
    SKIPPED_OPEN_CIRCUIT = "skipped_open_circuit", "Skipped: circuit open"
    SKIPPED_UNCONFIGURED = "skipped_unconfigured", "Skipped: API key not set"
    SKIPPED_REJECTED = "skipped_rejected", "Skipped: refused earlier, fix its profile"
    # the router keeps requests holding a card number, IBAN or secret local (masking)
    SKIPPED_SENSITIVE = "skipped_sensitive", "Skipped: sensitive data stays local"
    # its worst-case cost would have passed a budget's cap: not sent
    SKIPPED_BUDGET = "skipped_budget", "Skipped: budget reached"


class ModelCall(models.Model):
    # no index of its own: modelcall_router_task_model starts with it and serves every lookup by router
    router = models.ForeignKey(
        Router, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls", db_index=False
    )
    task_name = models.CharField(max_length=100, blank=True)
    model = models.ForeignKey(
        LLMModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    model_slug = models.CharField(max_length=120)
    # SET_NULL: deleting a ticket (an admin, a data-protection request) keeps what its calls cost
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    step = models.ForeignKey(
        TriageStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    started_at = models.DateTimeField()
    latency_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=24, choices=CallOutcome.choices)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)  # reasoning tokens included
    reasoning_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)  # of the prompt tokens, read from cache
    tokens_estimated = models.BooleanField(default=False)
    cost = models.DecimalField(max_digits=16, decimal_places=10, default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["started_at"], name="modelcall_started"),
            models.Index(fields=["router", "task_name", "model"], name="modelcall_router_task_model"),
            models.Index(fields=["outcome", "started_at"], name="modelcall_outcome_started"),
        ]

    def __str__(self) -> str:
        return f"{self.model_slug} {self.task_name} {self.outcome}"
