"""Property-based fuzzing of /api/ from its own OpenAPI schema: no 5xx, no response off-schema."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from triage_site.wsgi import application

# No 5xx and nothing off-schema. Left out: the opinionated negative-data check that wants unknown
# query parameters rejected (this API ignores them, as most do).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture
def auth_header(db: None) -> dict[str, str]:
    from triage.models import ApiKey

    _, raw = ApiKey.issue(
        name="schemathesis", rate_limit_per_minute=100_000, scopes=["tickets", "routers", "models"]
    )
    return {"Authorization": f"Bearer {raw}"}


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db(transaction=True)
def test_api_never_errors_and_matches_its_schema(
    case: Any, auth_header: dict[str, str], presets: None
) -> None:
    case.call_and_validate(headers=auth_header, checks=CHECKS)
