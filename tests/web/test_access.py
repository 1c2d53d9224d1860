"""Who may see the agent pages: logged-in agents and staff; CSRF rides on htmx requests."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = ["/", "/tickets/new/", "/analytics/", "/playground/"]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitor_is_sent_to_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_htmx_request_navigates_the_whole_page_to_login(client: Client, url: str) -> None:
    response = client.get(
        url, headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tickets/7/?x=1"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Ftickets%2F7%2F%3Fx%3D1"
    assert b"<form" not in response.content


def test_ticket_pages_and_fragments_need_login(client: Client, make_ticket: Any) -> None:
    ticket = make_ticket()
    for url in (f"/tickets/{ticket.pk}/", f"/tickets/{ticket.pk}/row/"):
        assert client.get(url).status_code == 302
        assert client.get(url, headers={"HX-Request": "true"})["HX-Redirect"].startswith("/accounts/login/")
    for action in ("correct", "thumbs", "reply", "rerun"):
        response = client.post(f"/tickets/{ticket.pk}/{action}/", {"field": "category", "value": "bug"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_user_outside_the_agents_group_is_refused(client: Client, db: None) -> None:
    client.force_login(User.objects.create_user("visitor", password="visitor-password-1"))
    response = client.get("/")
    assert response.status_code == 403
    assert b"agents" in response.content


def test_agent_sees_the_queue_without_an_admin_link(agent_client: Client) -> None:
    response = agent_client.get("/")
    assert response.status_code == 200
    assert b'href="/admin/"' not in response.content


def test_staff_sees_the_admin_link(staff_client: Client) -> None:
    response = staff_client.get("/")
    assert response.status_code == 200
    assert b'href="/admin/"' in response.content


def test_login_page_logs_an_agent_in(client: Client, agent_user: User) -> None:
    response = client.post(
        "/accounts/login/", {"username": "agent", "password": "agent-password-123", "next": "/analytics/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/analytics/"
    assert client.get("/analytics/").status_code == 200


def test_wrong_password_shows_an_error(client: Client, agent_user: User) -> None:
    response = client.post("/accounts/login/", {"username": "agent", "password": "nope"})
    assert response.status_code == 200
    assert b"password didn't match" in response.content


def test_body_carries_the_csrf_token_for_htmx(agent_client: Client) -> None:
    html = agent_client.get("/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_htmx_post_with_the_header_token_passes_csrf(agent_user: User, make_ticket: Any) -> None:
    ticket = make_ticket()
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent_user)
    page = client.get(f"/tickets/{ticket.pk}/")
    token = page.cookies["csrftoken"].value
    refused = client.post(
        f"/tickets/{ticket.pk}/correct/",
        {"field": "category", "value": "billing"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 403
    accepted = client.post(
        f"/tickets/{ticket.pk}/correct/",
        {"field": "category", "value": "billing"},
        headers={"HX-Request": "true", "HX-Target": "ticket-live", "X-CSRFToken": token},
    )
    assert accepted.status_code == 200


def test_healthz_needs_no_login(client: Client, db: None) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
