"""gunicorn's configuration, the one place for it: the Dockerfile and docker-compose both run
``gunicorn -c triage_site/gunicorn.conf.py triage_site.wsgi:application``.

Each value can be changed through the environment (an empty value keeps the default):
``GUNICORN_BIND`` (0.0.0.0:8000), ``GUNICORN_WORKERS`` or ``WEB_CONCURRENCY`` (3 processes),
``GUNICORN_THREADS`` (8 per process), ``GUNICORN_TIMEOUT`` (180 s).
"""

from __future__ import annotations

import os


def _env_int(*names: str, default: int) -> int:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return int(value)
    return default


bind = os.environ.get("GUNICORN_BIND", "").strip() or "0.0.0.0:8000"  # noqa: S104 - inside the container
workers = _env_int("GUNICORN_WORKERS", "WEB_CONCURRENCY", default=3)
# Threads, not one request per process: the synchronous POST /triage waits on model calls for up
# to TRIAGE_SYNC_DEADLINE_SECONDS (150 s by default, then it answers 504), and the API, /v1 and
# the agents' pages wait on the network too. A process serves this many requests at once (and
# holds up to this many PostgreSQL connections: count them in the connection budget).
worker_class = "gthread"
threads = _env_int("GUNICORN_THREADS", default=8)
# gunicorn kills a worker it has not heard from for this long ("WORKER TIMEOUT", an HTML 500 for
# every request it was serving). Under gthread the worker's main loop reports every second while
# requests run in its threads; with the sync worker class, or a worker stuck in one request, this
# is a per-request limit. It stays comfortably above the longest synchronous request, the sync
# triage deadline (150 s, after which /triage answers 504 by itself), so the app's own deadline
# always answers first (without that deadline the two phases of a sync triage could each wait for a
# router's request deadline, up to 900 s). Raising TRIAGE_SYNC_DEADLINE_SECONDS? Raise this above it.
timeout = _env_int("GUNICORN_TIMEOUT", default=180)
