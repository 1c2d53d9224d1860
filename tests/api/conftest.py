"""API tests: an API key, a client that sends it, and the stub-backed triage router."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.pipeline.conftest import stub_triage_router  # noqa: F401 - fixture
from tests.support.fixtures import (  # noqa: F401 - fixtures
    local_provider,
    make_model,
    make_router,
    stub_openai,
    stub_provider,
    test_local_model,
)

ALL_SCOPES = ["tickets", "routers", "models"]


@pytest.fixture
def api_key(db: None) -> str:
    """A key with every scope (tickets, routers, models): the API tests exercise all of it."""
    from triage.models import ApiKey

    _, raw = ApiKey.issue(name="tests", scopes=ALL_SCOPES)
    return raw


@pytest.fixture
def api(api_key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")


def post_json(client: Client, url: str, payload: Any, **headers: str) -> Any:
    import json

    return client.post(url, data=json.dumps(payload), content_type="application/json", headers=headers)
