from django.contrib import admin
from django.urls import include, path

from triage.api import inbound, openai_compat
from triage.ops import views as ops
from triage_site.api import api, compat_api

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's auth views; password reset only when email is configured (triage/web/accounts.py)
    path("accounts/", include("triage.web.accounts")),
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    path("api/", api.urls),
    # connectors' doors: email providers' inbound webhooks, helpdesks' webhooks (triage/api/inbound.py)
    path("inbound/email/<slug:name>", inbound.email, name="inbound-email"),
    path("inbound/<slug:kind>/<slug:name>", inbound.helpdesk_webhook, name="inbound-helpdesk"),
    # the agent pages first: the compat API's root view would otherwise answer "/"
    path("", include("triage.web.urls")),
    path("", compat_api.urls),
    path("v1/chat/completions", openai_compat.chat_completions, name="v1-chat-completions"),
    path("v1/models", openai_compat.list_models, name="v1-models"),
]
