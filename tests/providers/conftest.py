"""Provider-behaviour tests: the presets against the provider simulator's documented profiles."""

from tests.support.fixtures import (  # noqa: F401 - fixtures
    make_model,
    make_router,
    presets_on_sim,
    provider_sim,
    stub_openai,
    stub_provider,
)
