from django.contrib import admin
from django.urls import include, path

from triage.web import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("", views.ticket_queue, name="queue"),
]
