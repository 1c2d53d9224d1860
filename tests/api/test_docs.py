"""/api/docs renders under the site's CSP (same-origin Swagger UI) and is for agents and staff in
production; a CDN-hosted Swagger UI was blocked by script-src 'self' (a blank page)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent


class _Assets(HTMLParser):
    """Every script and stylesheet a page loads, and the text of scripts the browser would run."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if found.get("src"):
                self.urls.append(str(found["src"]))
            elif found.get("type", "text/javascript") in {"text/javascript", "module", ""}:
                self._in_script = True
        elif tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def _docs_assets(client: Client) -> _Assets:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assets = _Assets()
    assets.feed(response.content.decode())
    return assets


@override_settings(DEBUG=True)
def test_the_docs_page_loads_only_this_sites_static_files(client: Client) -> None:
    assets = _docs_assets(client)
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets.urls)
    assert assets.inline_scripts == []  # script-src 'self' would block them
    for url in assets.urls:
        assert url.startswith(settings.STATIC_URL) or url.startswith("/" + settings.STATIC_URL), url
        assert "//" not in url, url  # no other host (a CDN)
        name = url.split(settings.STATIC_URL, 1)[1]
        assert finders.find(name), url
        assert client.get(url).status_code == 200, url


@override_settings(DEBUG=True)
def test_the_docs_page_sends_the_sites_csp(client: Client) -> None:
    csp = client.get("/api/docs")["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp


@override_settings(DEBUG=False)  # as in production (tests run with DEBUG off anyway)
@pytest.mark.parametrize("url", ["/api/docs", "/api/openapi.json"])
def test_anonymous_visitors_are_sent_to_login_in_production(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{settings.LOGIN_URL}?next=")


@override_settings(DEBUG=False)
def test_users_outside_the_agents_group_are_refused_in_production(client: Client) -> None:
    client.force_login(User.objects.create_user("visitor", password="visitor-password-1"))
    assert client.get("/api/docs").status_code == 403
    assert client.get("/api/openapi.json").status_code == 403


@override_settings(DEBUG=False)
@pytest.mark.parametrize("who", ["staff_user", "agent_user"])
def test_staff_and_agents_read_the_docs_in_production(
    client: Client, who: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(who))
    assert client.get("/api/docs").status_code == 200
    assert "/api/tickets" in client.get("/api/openapi.json").json()["paths"]


@override_settings(DEBUG=True)
def test_docs_stay_open_in_development(client: Client) -> None:
    assert client.get("/api/docs").status_code == 200
    assert client.get("/api/openapi.json").status_code == 200


@override_settings(DEBUG=True)
def test_collectstatic_in_production_gathers_every_file_the_docs_page_loads(
    client: Client, tmp_path: Path
) -> None:
    """Production serves the manifest's files (``{% static %}`` fails on a name missing from it)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "REDIS_URL"}}
    env.update({"SECRET_KEY": secrets.token_urlsafe(50), "TRIAGE_DATA_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())["paths"]
    for url in _docs_assets(client).urls:
        name = url.split(settings.STATIC_URL, 1)[1]
        assert name in manifest, name
        assert (tmp_path / "staticfiles" / manifest[name]).is_file()
