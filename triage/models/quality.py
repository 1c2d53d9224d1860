"""What the product learns about answer quality: shadow comparisons and local-model retraining runs.

A shadow comparison is a second model's answer to a request a step already served, asked in the
background for a sample of steps; it is billed (its ModelCall row names no ticket, so ticket costs
leave it out) and never shown to agents. A training run records a retrain of the local models on
the shipped labels plus agents' labels, with the accuracy before and after on a held-back share.
"""

from __future__ import annotations

from django.db import models

from .tickets import Ticket, TriageStep
from .usage import ModelCall


class ShadowComparison(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="shadow_comparisons")
    step = models.ForeignKey(TriageStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    task_name = models.CharField(max_length=100)
    primary_model = models.CharField(max_length=120)
    shadow_model = models.CharField(max_length=120)
    primary_result = models.JSONField(null=True, blank=True)
    shadow_result = models.JSONField(null=True, blank=True)
    agreed = models.BooleanField(
        null=True, blank=True, help_text="Empty: the shadow model gave no usable answer."
    )
    call = models.ForeignKey(ModelCall, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cost = models.DecimalField(max_digits=16, decimal_places=10, default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["task_name", "primary_model", "shadow_model"], name="shadow_task_models")
        ]

    def __str__(self) -> str:
        return f"{self.shadow_model} shadowing {self.primary_model} on {self.task_name}"


class LocalModelTraining(models.Model):
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    shipped_examples = models.PositiveIntegerField(default=0)
    agent_examples = models.PositiveIntegerField(default=0)
    before = models.JSONField(
        default=dict, blank=True
    )  # {"category": accuracy, "urgency": accuracy} held back
    after = models.JSONField(default=dict, blank=True)
    adopted = models.BooleanField(default=False)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "local model training"

    def __str__(self) -> str:
        outcome = "adopted" if self.adopted else "kept the old models"
        return f"training {self.started_at:%Y-%m-%d %H:%M} ({outcome})"
