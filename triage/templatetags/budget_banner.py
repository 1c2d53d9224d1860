"""``{% budget_banner %}``: the admin's banner while a budget's cap is reached."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def budget_banner() -> str:
    from triage.routing.budget_admin import budget_banner as banner

    return banner()
