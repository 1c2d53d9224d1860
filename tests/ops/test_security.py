"""The hardened surface: security headers, login rate limiting, no admin for agents."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_send_security_headers(client: Client) -> None:
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_repeated_failed_logins_lock_the_account_out(client: Client, agent_user: User) -> None:
    for _ in range(4):
        failed = client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
        assert failed.status_code == 200  # the form again, with its error
    fifth = client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    assert fifth.status_code == 429
    locked = client.post("/accounts/login/", {"username": "agent", "password": "agent-password-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_correct_password_logs_in_before_the_limit(client: Client, agent_user: User) -> None:
    client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "agent", "password": "agent-password-123"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(agent_user.pk)
