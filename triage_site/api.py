"""The NinjaAPI instances: the ticket API under /api/ and the article's contract at /triage."""

from ninja import NinjaAPI

from triage.api.auth import ApiKeyAuth, CompatAuth
from triage.api.docs import SWAGGER, docs_access
from triage.api.errors import install_error_handlers
from triage.models.apikeys import SCOPE_ROUTERS, SCOPE_TICKETS

api = NinjaAPI(
    title="Support Triage API",
    version="1.0",
    description="Submit tickets, read their triage step by step, and see router usage.",
    auth=ApiKeyAuth(),
    urls_namespace="api",
    # Swagger UI from our static files (the CSP blocks a CDN); agents and staff only unless DEBUG
    docs=SWAGGER,
    docs_decorator=docs_access,
)
# each part of the API needs its scope on the key (401 without a valid key, 403 without the scope)
api.add_router("/tickets", "triage.api.tickets.router", auth=ApiKeyAuth(SCOPE_TICKETS))
api.add_router("/routers", "triage.api.routers.router", auth=ApiKeyAuth(SCOPE_ROUTERS))
install_error_handlers(api)

compat_api = NinjaAPI(
    title="Triage contract (synchronous)",
    version="1.0",
    auth=CompatAuth(),
    urls_namespace="compat",
    docs_url=None,
    openapi_url=None,
)
compat_api.add_router("", "triage.api.compat.router")
install_error_handlers(compat_api)
