"""Shared fixtures: a clean shared cache per test, staff and agent users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from triage.routing.audit import audit_flush
from triage.routing.mirror import mirror_forget


@pytest.fixture(autouse=True)
def _clean_shared_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    # The database cache lives in the test database, so only tests that use the db can touch it.
    uses_db = bool(
        "db" in request.fixturenames
        or "transactional_db" in request.fixturenames
        or request.node.get_closest_marker("django_db")
    )
    if uses_db:
        cache.clear()
        mirror_forget()
    yield
    if uses_db:
        # the audit writer may still hold rows of this test: write them before the database is
        # emptied for the next one (else its insert and the flush's TRUNCATE can deadlock)
        audit_flush()


@pytest.fixture
def presets(db: None) -> None:
    from triage.services.presets import presets_load

    presets_load()


@pytest.fixture
def staff_user(db: None) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "admin-password-123")


@pytest.fixture
def agent_user(db: None) -> User:
    user = User.objects.create_user("agent", "agent@example.com", "agent-password-123")
    user.groups.add(Group.objects.get_or_create(name="agents")[0])
    return user
