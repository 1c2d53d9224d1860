from django.contrib import admin
from django.urls import include, path

from triage.api import openai_compat
from triage.web import views
from triage_site.api import api, compat_api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("api/", api.urls),
    path("", compat_api.urls),
    path("v1/chat/completions", openai_compat.chat_completions, name="v1-chat-completions"),
    path("v1/models", openai_compat.list_models, name="v1-models"),
    path("", views.ticket_queue, name="queue"),
]
