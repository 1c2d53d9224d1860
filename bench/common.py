"""Small helpers every benchmark uses: a database to measure in, and percentiles."""

from __future__ import annotations

import os


def ensure_database() -> None:
    """Create the PostgreSQL database named in DATABASE_URL if it doesn't exist yet."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank ``pct`` percentile (0-100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def database_reset() -> None:
    """Migrate, then empty the tickets, the audit trail and the routing configuration, so a run
    starts from rows it creates itself. Only for a benchmark's own database."""
    from django.core.management import call_command

    from triage.models import (
        FallbackEntry,
        LLMModel,
        ModelCall,
        PoolEntry,
        Provider,
        Router,
        RouterTask,
        Ticket,
    )

    call_command("migrate", verbosity=0)
    for model in (ModelCall, Ticket, FallbackEntry, PoolEntry, RouterTask, Router, LLMModel, Provider):
        model.objects.all().delete()


def cpu_seconds(
    pids: dict[str, list[int]], *, servers: tuple[str, ...] = ("postgres", "redis-server")
) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each group of ``pids``, and by every process whose
    command is one of ``servers`` (PostgreSQL's backends, Redis). Read from /proc, so Linux only
    (elsewhere: an empty dict). Two readings' difference is what each group spent in between."""
    if not os.path.isdir("/proc/self"):
        return {}
    tick = os.sysconf("SC_CLK_TCK")

    def used(pid: int | str) -> tuple[str, float]:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                text = stat.read()
        except OSError:  # gone meanwhile
            return "", 0.0
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        return name, (int(fields[11]) + int(fields[12])) / tick

    totals = {group: sum(used(pid)[1] for pid in members) for group, members in pids.items()}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            name, seconds = used(entry)
            if name in servers:
                totals[name] = totals.get(name, 0.0) + seconds
    return totals


def allow_provider_key_env(name: str) -> None:
    """Let a bench's stub provider name its own key variable (TRIAGE_PROVIDER_KEY_ENVS, read when
    Django's settings load: call this before ``django.setup()``; worker subprocesses inherit it)."""
    allowed = os.environ.get("TRIAGE_PROVIDER_KEY_ENVS", "DO_MODEL_ACCESS_KEY,OPENAI_API_KEY")
    if name not in allowed.split(","):
        os.environ["TRIAGE_PROVIDER_KEY_ENVS"] = f"{allowed},{name}"
