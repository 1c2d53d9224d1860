from typing import Any

from django.core.management.base import BaseCommand

from triage.services.demo import demo_data_load


class Command(BaseCommand):
    help = "Create the demo agent and admin users and the sample tickets (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        logins, tickets = demo_data_load()
        for login in logins:
            if login.password:
                self.stdout.write(f"  login: {login.username} / {login.password}   (shown once)")
            else:
                hint = f"manage.py changepassword {login.username}"
                self.stdout.write(f"  login: {login.username} (exists; reset with: {hint})")
        self.stdout.write(f"  sample tickets added: {len(tickets)}")
