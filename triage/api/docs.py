"""The API's interactive docs (/api/docs) and schema (/api/openapi.json).

Swagger UI comes from django-ninja's own static files ("ninja" is in INSTALLED_APPS; without it
ninja links a CDN, which the site's Content-Security-Policy blocks: a blank page). Ninja's page has
no inline script (its swagger-ui-init.js reads the settings from a JSON block), so it renders under
``script-src 'self'`` as it is.

With DEBUG off both need a logged-in agent or staff user (anyone else: to the login page, or 403);
in development they stay open.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from ninja.openapi.docs import Swagger

from triage.web.accounts import may_use_agent_pages

# No online validator badge (it would load an image from validator.swagger.io, outside the CSP).
SWAGGER = Swagger(settings={"validatorUrl": None})


def docs_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open with DEBUG on (read per request); otherwise the agent pages' rule: logged in (else to
    the login page), and staff or in the ``agents`` group (else 403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.DEBUG:
            return view(request, *args, **kwargs)
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not may_use_agent_pages(user):
            return HttpResponseForbidden("Only support agents and staff can read the API docs.")
        return view(request, *args, **kwargs)

    return wrapper
