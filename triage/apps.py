from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = "Support triage"
    default_auto_field = "django.db.models.BigAutoField"
