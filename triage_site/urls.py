from django.contrib import admin
from django.urls import include, path

from triage.web import views
from triage_site.api import api, compat_api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("api/", api.urls),
    # the agent pages first: the compat API's root view would otherwise answer "/"
    path("", include("triage.web.urls")),
    path("", compat_api.urls),
]
