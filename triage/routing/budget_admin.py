"""Admin for budgets: spend against each cap with a bar, editable caps (effective at once: a save
bumps the routing configuration every process reads), and the banner the admin shows while a cap
is reached."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join

from triage.models import Budget
from triage.routing.budgets import budget_status


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "daily_cap", "monthly_cap", "warn_at_percent", "spend"]
    list_select_related = ["router"]
    readonly_fields = ["spend", "warned_for", "exceeded_for", "updated_at"]

    @admin.display(description="spend this period")
    def spend(self, budget: Budget) -> str:
        if budget.pk is None:
            return "-"
        rows = budget_status(budget)
        return format_html_join(
            "",
            '<div class="budget-bar"><span>{} ${} of ${} ({}%)</span>'
            '<progress max="100" value="{}" style="width:12em;display:block"></progress></div>',
            ((r["kind"], f"{r['spent']:.4f}", f"{r['cap']:.2f}", r["percent"], r["percent"]) for r in rows),
        )


def budget_alerts() -> list[str]:
    """Lines for the admin's banner: each budget whose cap is reached in its current period."""
    alerts = []
    for budget in Budget.objects.select_related("router").exclude(exceeded_for=""):
        for row in budget_status(budget):
            if row["period"] == budget.exceeded_for:
                alerts.append(
                    f"Budget {budget} reached its {row['kind']} cap "
                    f"(${row['spent']:.2f} of ${row['cap']:.2f}): "
                    "remote calls are skipped and the local tier answers until the period rolls over or "
                    "the cap is raised."
                )
    return alerts


def budget_banner() -> str:
    alerts = budget_alerts()
    return format_html_join("", '<p class="errornote">{}</p>', ((a,) for a in alerts)) if alerts else ""
