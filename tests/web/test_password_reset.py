"""Password reset exists only when email can be sent, and is throttled per client address and email.

Without a mail server every reset request ended in an SMTP traceback (a 500), and nothing limited
how many a client could make.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
RESET_URLS = [
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/set-password/",
    "/accounts/reset/done/",
]


def _reset(client: Client, email: str, address: str = "203.0.113.7") -> None:
    response = client.post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=address)
    # the same answer whether the address has an account, is unknown or was throttled
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"


# --- off without email ----------------------------------------------------------------------------
@pytest.mark.parametrize("url", RESET_URLS)
def test_without_email_the_reset_pages_do_not_exist(client: Client, url: str) -> None:
    assert client.get(url).status_code == 404
    assert client.post(url, {"email": "agent@example.com"}).status_code == 404


def test_without_email_a_reset_request_sends_nothing_and_raises_nothing(
    client: Client, agent_user: User
) -> None:
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST=""):
        assert client.post("/accounts/password_reset/", {"email": agent_user.email}).status_code == 404
    assert mail.outbox == []


def test_without_email_the_login_page_offers_no_reset(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"/accounts/password_reset/" not in response.content
    assert b"Forgot" not in response.content


# --- on with email --------------------------------------------------------------------------------
@override_settings(PASSWORD_RESET_ENABLED=True)
def test_with_email_the_login_page_links_to_a_working_reset(client: Client, agent_user: User) -> None:
    login = client.get("/accounts/login/")
    assert b'href="/accounts/password_reset/"' in login.content
    assert client.get("/accounts/password_reset/").status_code == 200
    _reset(client, agent_user.email)
    assert client.get("/accounts/password_reset/done/").status_code == 200
    (message,) = mail.outbox
    assert message.to == [agent_user.email]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)
    assert link
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200 and b"new_password1" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-42", "new_password2": "a-new-long-password-42"},
    )
    assert done["Location"] == "/accounts/reset/done/"
    assert client.get("/accounts/reset/done/").status_code == 200
    agent_user.refresh_from_db()
    assert agent_user.check_password("a-new-long-password-42")


@override_settings(PASSWORD_RESET_ENABLED=True, PASSWORD_RESET_RATE_LIMIT=5)
def test_one_email_gets_at_most_five_resets_an_hour_from_any_address(
    client: Client, agent_user: User
) -> None:
    for n in range(5):
        _reset(client, agent_user.email, address=f"198.51.100.{n}")
    assert len(mail.outbox) == 5
    _reset(client, agent_user.email.upper(), address="198.51.100.99")  # the same mailbox
    assert len(mail.outbox) == 5


@override_settings(PASSWORD_RESET_ENABLED=True, PASSWORD_RESET_RATE_LIMIT=5)
def test_one_client_address_gets_at_most_five_resets_an_hour(client: Client) -> None:
    users = [
        User.objects.create_user(f"user{n}", f"user{n}@example.com", "pw-123-long-enough") for n in range(6)
    ]
    for user in users[:5]:
        _reset(client, user.email)
    assert len(mail.outbox) == 5
    _reset(client, users[5].email)
    assert len(mail.outbox) == 5
    _reset(client, users[5].email, address="203.0.113.8")  # another client is not held back
    assert len(mail.outbox) == 6


@override_settings(PASSWORD_RESET_ENABLED=True, PASSWORD_RESET_RATE_LIMIT=5)
def test_unknown_addresses_count_too(client: Client, agent_user: User) -> None:
    for n in range(5):
        _reset(client, f"nobody{n}@example.com")
    assert mail.outbox == []
    _reset(client, agent_user.email)
    assert mail.outbox == []


# --- which environments turn it on ----------------------------------------------------------------
PROBE = (
    "import json, django; from django.conf import settings as s; django.setup(); print(json.dumps("
    "{'enabled': s.PASSWORD_RESET_ENABLED, 'backend': s.EMAIL_BACKEND, 'host': s.EMAIL_HOST, "
    "'port': s.EMAIL_PORT, 'tls': s.EMAIL_USE_TLS}))"
)


def _email_settings(env: dict[str, str], tmp_path: Path) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "PASSWORD_RESET"))}
    clean.update({"DEBUG": "1", "TRIAGE_DATA_DIR": str(tmp_path), **env})
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, False),
        ({"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}, False),  # SMTP, but where?
        ({"EMAIL_URL": "smtp+tls://triage:pw@smtp.example.com:587"}, True),
        ({"EMAIL_HOST": "smtp.example.com"}, True),
        ({"EMAIL_URL": "consolemail://"}, True),
        ({"EMAIL_URL": "smtp+tls://triage:pw@smtp.example.com:587", "PASSWORD_RESET_ENABLED": "0"}, False),
    ],
)
def test_password_reset_is_on_exactly_when_email_is_configured(
    env: dict[str, str], enabled: bool, tmp_path: Path
) -> None:
    assert _email_settings(env, tmp_path)["enabled"] is enabled


def test_an_email_url_configures_smtp(tmp_path: Path) -> None:
    found = _email_settings({"EMAIL_URL": "smtp+tls://triage:pw@smtp.example.com:587"}, tmp_path)
    assert found == {
        "enabled": True,
        "backend": "django.core.mail.backends.smtp.EmailBackend",
        "host": "smtp.example.com",
        "port": 587,
        "tls": True,
    }
