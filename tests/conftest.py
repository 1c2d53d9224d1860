"""Shared fixtures: a clean shared cache per test, staff and agent users."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from triage.routing.service import health_forget_all


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``embeddings`` need requirements-embeddings.txt: skipped on a plain install,
    but a failure under ``TRIAGE_REQUIRE_EMBEDDINGS=1`` (.ci/run), so CI can't skip them silently."""
    if item.get_closest_marker("embeddings") is None:
        return
    from triage.routing.classifier import minilm_available

    if minilm_available():
        return
    if os.environ.get("TRIAGE_REQUIRE_EMBEDDINGS") == "1":
        pytest.fail("TRIAGE_REQUIRE_EMBEDDINGS=1 but the MiniLM weights are not installed")
    pytest.skip("needs requirements-embeddings.txt")


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
    health_forget_all()  # this process's memory of breakers: model ids repeat between tests
    yield


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
