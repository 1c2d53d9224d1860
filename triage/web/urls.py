"""The agent pages' URLs (included at the site root)."""

from django.urls import path

from triage.web import views

urlpatterns = [
    path("", views.ticket_queue, name="queue"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/row/", views.ticket_row, name="ticket_row"),
    path("tickets/<int:ticket_id>/correct/", views.ticket_correct, name="ticket_correct"),
    path("tickets/<int:ticket_id>/thumbs/", views.ticket_thumb, name="ticket_thumb"),
    path("tickets/<int:ticket_id>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:ticket_id>/rerun/", views.ticket_rerun, name="ticket_rerun"),
    path("analytics/", views.analytics, name="analytics"),
    path("playground/", views.playground, name="playground"),
]
