"""Readiness: database, broker and shared cache reachable, migrations applied."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def check_database() -> str | None:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported by name
        return f"database unreachable: {type(exc).__name__}"
    return None


def check_migrations() -> str | None:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001
        return f"migrations can't be checked: {type(exc).__name__}"
    if pending:
        return f"{len(pending)} migrations not applied (run manage.py migrate)"
    return None


def check_cache() -> str | None:
    probe = f"readyz:{uuid.uuid4().hex}"
    try:
        cache.set(probe, "ok", timeout=10)
        value = cache.get(probe)
        cache.delete(probe)
    except Exception as exc:  # noqa: BLE001
        return f"shared cache unreachable: {type(exc).__name__}"
    return None if value == "ok" else "shared cache did not return what was written"


def check_broker() -> str | None:
    from triage_site.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # noqa: BLE001
        return f"broker unreachable: {type(exc).__name__}"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": check_database,
    "migrations": check_migrations,
    "cache": check_cache,
    "broker": check_broker,
}


def readiness() -> dict[str, str]:
    """Each part's status: 'ok' or why it isn't."""
    results = {}
    for name, check in CHECKS.items():
        problem = check()
        results[name] = problem or "ok"
    return results


def delivery_details() -> dict[str, object]:
    """Not a readiness check (a receiver being down doesn't make this app unready), but shown with
    them: targets disabled after failing, and deliveries waiting."""
    from triage.models import Connector, Delivery, WebhookEndpoint

    try:
        disabled = [
            {"webhook": e.name, "since": e.disabled_at, "reason": e.disabled_reason}
            for e in WebhookEndpoint.objects.filter(disabled_at__isnull=False)
        ] + [
            {"connector": c.name, "since": c.disabled_at, "reason": c.disabled_reason}
            for c in Connector.objects.filter(disabled_at__isnull=False)
        ]
        pending = Delivery.objects.filter(status=Delivery.Status.PENDING).count()
    except Exception as exc:  # noqa: BLE001 - the database check reports the cause
        return {"error": type(exc).__name__}
    return {"disabled_targets": disabled, "pending": pending}
