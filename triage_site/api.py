"""The NinjaAPI instances: the ticket API under /api/ and the article's contract at /triage."""

from ninja import NinjaAPI

from triage.api.auth import ApiKeyAuth, CompatAuth
from triage.api.errors import install_error_handlers

api = NinjaAPI(
    title="Support Triage API",
    version="1.0",
    description="Submit tickets, read their triage step by step, and see router usage.",
    auth=ApiKeyAuth(),
    urls_namespace="api",
)
api.add_router("/tickets", "triage.api.tickets.router")
api.add_router("/routers", "triage.api.routers.router")
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
