"""The account pages under /accounts/: Django's auth views, with password reset only when email works.

Password reset sends a link by email, so its pages exist only when an email backend is configured
(``PASSWORD_RESET_ENABLED``, on by default when ``EMAIL_URL``/``EMAIL_HOST``/``EMAIL_BACKEND`` is
set): otherwise they answer 404 and the login page does not link to them, instead of failing every
request on an SMTP server that is not there.

Requests are throttled: at most ``PASSWORD_RESET_RATE_LIMIT`` an hour from one client address and
for one email address. Beyond that the form answers exactly as usual ("check your email") and sends
nothing: the same page whether or not the address has an account or was throttled, so the answer
tells a prober nothing, while the mailbox owner and the mail server are spared the flood.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import path

from triage.ops.client_ip import client_ip
from triage.ops.counters import window_count
from triage.presets import AGENTS_GROUP

logger = logging.getLogger(__name__)

RESET_WINDOW_SECONDS = 3600
View = Callable[..., HttpResponseBase]


def may_use_agent_pages(user: Any) -> bool:
    """Staff, and users in the agents group (``load_presets`` creates it; add people to it in the admin)."""
    return bool(user.is_staff or user.groups.filter(name=AGENTS_GROUP).exists())


def password_reset_enabled(view: View) -> View:
    """404 unless password reset is on (checked per request, so a settings change applies)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.PASSWORD_RESET_ENABLED:
            raise Http404("Password reset is off: no email backend is configured.")
        return view(request, *args, **kwargs)

    return wrapper


def reset_allowed(request: HttpRequest, email: str) -> bool:
    """Count this request against its client address and its email address (both, always; an
    unreachable cache counts nothing and limits nothing, as for the API's rate limits)."""
    limit = settings.PASSWORD_RESET_RATE_LIMIT
    email_hash = hashlib.sha256(email.strip().lower().encode()).hexdigest()  # no address in the cache
    by_address = window_count(f"password-reset:ip:{client_ip(request)}", RESET_WINDOW_SECONDS)
    by_email = window_count(f"password-reset:email:{email_hash}", RESET_WINDOW_SECONDS)
    return all(used is None or used <= limit for used in (by_address, by_email))


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["password_reset_enabled"] = settings.PASSWORD_RESET_ENABLED
        return context


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if not reset_allowed(self.request, form.cleaned_data["email"]):
            logger.warning("password reset throttled", extra={"client_ip": client_ip(self.request)})
            return HttpResponseRedirect(self.get_success_url())  # the usual answer, no email
        return super().form_valid(form)


urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", password_reset_enabled(PasswordResetView.as_view()), name="password_reset"),
    path(
        "password_reset/done/",
        password_reset_enabled(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        password_reset_enabled(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        password_reset_enabled(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
]
