"""Admin for connectors, webhook endpoints and the delivery log: the pages list what an admin needs,
a secret variable outside the allow-list is refused, and the actions redeliver and turn back on."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from triage.models import Connector, Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(presets: None) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="ops",
        url="http://127.0.0.1:9/hooks",
        events=["ticket.triaged"],
        secret_env="TRIAGE_WEBHOOK_SECRET",
    )


def test_connector_form_refuses_a_variable_outside_the_allow_list(
    admin_client: Client, presets: None
) -> None:
    response = admin_client.post(
        "/admin/triage/connector/add/",
        {
            "name": "acme",
            "kind": "zendesk",
            "enabled": "on",
            "secret_env": "SECRET_KEY",
            "base_url": "https://acme.zendesk.com",
            "credential_envs": '{"email": "ZENDESK_EMAIL", "api_token": "DATABASE_URL"}',
            "write_back": "on",
            "mapping": "{}",
            "max_consecutive_failures": "20",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "SECRET_KEY: not an allowed variable" in html
    assert not Connector.objects.exists()


def test_connector_form_checks_the_mapping_and_write_back_needs(admin_client: Client, presets: None) -> None:
    base = {
        "name": "acme",
        "kind": "zendesk",
        "enabled": "on",
        "secret_env": "ZENDESK_WEBHOOK_SECRET",
        "write_back": "on",
        "max_consecutive_failures": "20",
    }
    response = admin_client.post(
        "/admin/triage/connector/add/",
        {**base, "base_url": "", "credential_envs": "{}", "mapping": "{}"},
    )
    assert "Write-back needs the helpdesk&#x27;s base URL." in response.content.decode()
    response = admin_client.post(
        "/admin/triage/connector/add/",
        {
            **base,
            "base_url": "https://acme.zendesk.com",
            "credential_envs": '{"email": "ZENDESK_EMAIL", "api_token": "ZENDESK_API_TOKEN"}',
            "mapping": '{"priority_by_urgency": {"5": "critical"}}',
        },
    )
    assert "critical" in response.content.decode() and not Connector.objects.exists()
    response = admin_client.post(
        "/admin/triage/connector/add/",
        {
            **base,
            "base_url": "https://acme.zendesk.com",
            "credential_envs": '{"email": "ZENDESK_EMAIL", "api_token": "ZENDESK_API_TOKEN"}',
            "mapping": '{"priority_by_urgency": {"5": "urgent"}}',
        },
    )
    assert response.status_code == 302
    listing = admin_client.get("/admin/triage/connector/").content.decode()
    assert "/inbound/zendesk/acme" in listing


def test_webhook_endpoint_needs_known_events(admin_client: Client, presets: None) -> None:
    response = admin_client.post(
        "/admin/triage/webhookendpoint/add/",
        {
            "name": "ops",
            "url": "https://hooks.example.com/triage",
            "events": '["ticket.deleted"]',
            "secret_env": "TRIAGE_WEBHOOK_SECRET",
            "enabled": "on",
            "max_consecutive_failures": "20",
        },
    )
    assert "A list of one or more of" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_delivery_log_lists_attempts_and_redeliver_requeues(admin_client: Client, endpoint: Any) -> None:
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event="ticket.triaged",
        payload={"id": "x"},
        next_attempt_at=timezone.now(),
        status=Delivery.Status.FAILED,
        attempts=7,
        last_status_code=503,
        last_latency_ms=41,
        last_error="given up: not delivered within 24 h",
    )
    html = admin_client.get("/admin/triage/delivery/").content.decode()
    assert "given up: not delivered within 24 h" in html and "503" in html and "41" in html
    response = admin_client.post(
        "/admin/triage/delivery/", {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
    )
    assert "1 deliveries queued again." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 7


def test_turn_back_on_clears_an_auto_disabled_endpoint(admin_client: Client, endpoint: Any) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at=timezone.now(), disabled_reason="20 failed attempts in a row", consecutive_failures=20
    )
    listing = admin_client.get("/admin/triage/webhookendpoint/").content.decode()
    assert "disabled: 20 failed attempts in a row" in listing
    healthy = WebhookEndpoint.objects.create(
        name="crm",
        url="http://127.0.0.1:9/crm",
        events=["ticket.triaged"],
        secret_env="TRIAGE_WEBHOOK_SECRET",
    )
    response = admin_client.post(
        "/admin/triage/webhookendpoint/",
        {"action": "turn_back_on", "_selected_action": [endpoint.pk, healthy.pk]},
        follow=True,
    )
    assert "1 turned back on; 1 already on." in response.content.decode()  # counts what it did
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is None and endpoint.consecutive_failures == 0
