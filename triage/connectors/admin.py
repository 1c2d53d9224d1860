"""Admin for connectors, webhook endpoints and the delivery log (status, answer, latency, attempts,
with "redeliver" and "turn back on")."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from triage.models import Connector, Delivery, WebhookEndpoint
from triage.models.connectors import DeliveryTarget, secret_env_value
from triage.services.deliveries import deliveries_redeliver, target_enable


def _health(target: DeliveryTarget) -> str:
    if target.disabled_at is not None:
        return f"disabled: {target.disabled_reason}"
    if target.consecutive_failures:
        return f"failing ({target.consecutive_failures} in a row), next try {target.retry_at:%H:%M:%S}"
    return "ok"


class TargetAdmin(admin.ModelAdmin):
    actions = ["turn_back_on"]
    # a URL typed without a scheme is https (Django 6's default; silences its deprecation warning)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="delivery health")
    def health(self, target: DeliveryTarget) -> str:
        return _health(target)

    @admin.action(description="Turn back on (after fixing the receiver): pending deliveries go out")
    def turn_back_on(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        turned_off = [target for target in queryset if target.disabled_at]
        for target in turned_off:
            target_enable(target)
        others = len(queryset) - len(turned_off)
        self.message_user(
            request, f"{len(turned_off)} turned back on" + (f"; {others} already on." if others else ".")
        )


@admin.register(Connector)
class ConnectorAdmin(TargetAdmin):
    list_display = ["name", "kind", "enabled", "write_back", "secret_set", "health", "inbound_url"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["consecutive_failures", "retry_at", "disabled_at", "disabled_reason", "created_at"]

    @admin.display(description="secret set", boolean=True)
    def secret_set(self, connector: Connector) -> bool:
        return connector.kind == Connector.Kind.EMAIL or bool(secret_env_value(connector.secret_env))

    @admin.display(description="inbound URL")
    def inbound_url(self, connector: Connector) -> str:
        if connector.kind == Connector.Kind.EMAIL:
            return "manage.py ingest_email --source " + connector.name
        if connector.is_email:
            return reverse("inbound-email", args=[connector.name])
        return reverse("inbound-helpdesk", args=[connector.kind, connector.name])


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TargetAdmin):
    list_display = ["name", "url", "event_list", "enabled", "secret_set", "health"]
    readonly_fields = ["consecutive_failures", "retry_at", "disabled_at", "disabled_reason", "created_at"]

    @admin.display(description="events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events or [])

    @admin.display(description="secret set", boolean=True)
    def secret_set(self, endpoint: WebhookEndpoint) -> bool:
        return bool(secret_env_value(endpoint.secret_env))


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "event",
        "target_name",
        "ticket_link",
        "status",
        "last_status_code",
        "last_latency_ms",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["status", "event", "endpoint", "connector"]
    list_select_related = ["endpoint", "connector"]
    search_fields = ["=uid", "=ticket__id"]
    show_full_result_count = False
    list_per_page = 100
    actions = ["redeliver"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="to")
    def target_name(self, delivery: Delivery) -> str:
        return str(delivery.target)

    @admin.display(description="ticket")
    def ticket_link(self, delivery: Delivery) -> str:
        if delivery.ticket_id is None:
            return "-"
        return format_html('<a href="/tickets/{}">#{}</a>', delivery.ticket_id, delivery.ticket_id)

    @admin.action(description="Redeliver (same delivery id, sent again now)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = deliveries_redeliver(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliveries queued again.")
