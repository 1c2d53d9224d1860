"""Spend caps per router (and optionally per task), and the ledger the embedded default keeps them in."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .routing import Router, RouterTask


class Budget(models.Model):
    """Daily and monthly caps in dollars for a router's remote model calls (the local tier is free and
    never capped). Periods roll over at midnight and on the 1st in the router's time zone."""

    router = models.ForeignKey(Router, on_delete=models.CASCADE, related_name="budgets")
    task_name = models.CharField(
        max_length=100, blank=True, help_text="Empty: the whole router. A task name: that task's calls only."
    )
    daily_cap = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))],
        help_text="Dollars per day (empty: no daily cap).",
    )  # fmt: skip
    monthly_cap = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))],
        help_text="Dollars per calendar month (empty: no monthly cap).",
    )  # fmt: skip
    warn_at_percent = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="budget.warning once spend reaches this share of a cap.",
    )  # fmt: skip
    # the period ("day:2026-12-06", "month:2026-12") each event was last sent for: once per period
    warned_for = models.CharField(max_length=40, blank=True, editable=False)
    exceeded_for = models.CharField(max_length=40, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["router__name", "task_name"]
        constraints = [
            models.UniqueConstraint(fields=["router", "task_name"], name="one_budget_per_router_task")
        ]

    def __str__(self) -> str:
        return f"{self.router.name}{'/' + self.task_name if self.task_name else ''}"

    def clean(self) -> None:
        if self.daily_cap is None and self.monthly_cap is None:
            raise ValidationError("Set a daily cap, a monthly cap or both.")
        if self.task_name and self.router_id:
            tasks = list(RouterTask.objects.filter(router_id=self.router_id).values_list("name", flat=True))
            if self.task_name not in tasks:
                raise ValidationError(
                    {
                        "task_name": f"This router has no task {self.task_name!r} "
                        f"(its tasks: {', '.join(tasks)}): the cap would never apply."
                    }
                )


class BudgetSpend(models.Model):
    """What a budget's period has spent and holds reserved, in millionths of a dollar: the ledger
    when the shared cache is not Redis (the embedded default). With Redis it lives there."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="spend")
    period = models.CharField(max_length=40)
    micros = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["budget", "period"], name="one_spend_row_per_period")]

    def __str__(self) -> str:
        return f"{self.budget_id} {self.period}: {self.micros / 1_000_000:.6f} USD"
