"""Routing tests use the shared stub-server fixtures."""

from tests.support.fixtures import (  # noqa: F401 - fixtures
    local_provider,
    make_model,
    make_router,
    stub_openai,
    stub_provider,
    test_local_model,
)
