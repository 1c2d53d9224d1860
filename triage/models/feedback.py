"""What agents tell us about the models' work: corrections, thumbs, approved replies; and the
playground's record of which audit rows it caused (so they stay out of ticket analytics).

Never changes a step's model output by itself: the services in ``triage.web.services`` decide that.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .routing import Router
from .tickets import Ticket, TriageStep
from .usage import ModelCall


class Feedback(models.Model):
    """One agent judgement on one step: a correction (old -> new value), a thumb, or an approval."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", "Correction"
        THUMBS_UP = "thumbs_up", "Thumbs up"
        THUMBS_DOWN = "thumbs_down", "Thumbs down"
        APPROVAL = "approval", "Reply approved"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="feedback")
    step = models.ForeignKey(
        TriageStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    task_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    field = models.CharField(max_length=40, blank=True, help_text="category, urgency or reply")
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    # The model whose output the agent judged (the step's served_by at that moment).
    model_slug = models.CharField(max_length=120, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"
        indexes = [
            models.Index(fields=["kind", "created_at"], name="feedback_kind_created"),
            models.Index(fields=["task_name", "model_slug"], name="feedback_task_model"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.task_name} of #{self.ticket_id}"


class ApprovedReply(models.Model):
    """The reply an agent approved, kept apart from the model's draft (which stays on its step)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="approved_reply")
    text = models.TextField()
    draft_text = models.TextField(blank=True, help_text="The model's draft at approval time.")
    draft_model = models.CharField(max_length=120, blank=True)
    edited = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"approved reply for #{self.ticket_id}"


class PlaygroundRun(models.Model):
    """One playground comparison; ``calls`` marks the ModelCall rows it caused (all ticket-less)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    router = models.ForeignKey(Router, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    prompt = models.TextField()
    task_name = models.CharField(max_length=100, blank=True)
    columns = models.JSONField(default=list, blank=True)
    calls = models.ManyToManyField(ModelCall, blank=True, related_name="playground_runs")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"playground run {self.pk}"
