from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = "Support triage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every process (web, worker, shell) must bump the routing configuration version on edits.
        from triage.api.auth import connect_signals as connect_api_key_signals
        from triage.routing.config import connect_signals
        from triage.services.reply_examples import reply_examples_connect

        connect_signals()
        # ... and drop a key's cached entry when it is saved (revoked) or deleted.
        connect_api_key_signals()
        # The offline reply drafter learns from agents' approved replies.
        reply_examples_connect()
