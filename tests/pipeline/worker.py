"""A real Celery worker in a subprocess, on the test database and the configured broker.

The worker sees the test database through ``DATABASE_URL`` (PostgreSQL's test database, or the
SQLite test file), and the same broker and shared cache as the test process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(settings['NAME']).resolve()}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


class LiveWorker:
    """Start, SIGKILL and restart a worker; the log goes to a file for failing tests to show."""

    def __init__(
        self, *, concurrency: int = 8, extra_env: dict[str, str] | None = None, log: Path, beat: bool = False
    ) -> None:
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.beat = beat  # also run the periodic sweep (as make run's worker does)
        self.log_path = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveWorker:
        env = {**os.environ, "DATABASE_URL": test_database_url(), **self.extra_env}
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        started_log = len(self.log())
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "triage_site",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                str(self.concurrency),
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                *(["--beat", "--schedule", str(self.log_path.with_suffix(".beat"))] if self.beat else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: with --beat, Celery runs beat in a child process, which a
            # SIGKILL of the worker alone would leave running (sending sweeps to later tests).
            start_new_session=True,
        )
        self._wait_ready(after=started_log)
        return self

    def _wait_ready(self, *, after: int, timeout: float = 60) -> None:
        """Until this start's " ready." line (a restart appends to the same log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            if " ready." in self.log()[after:]:
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL to the worker and its children (as when its container dies): no warm shutdown, no
        acks; unacked messages go back to the queue."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        self.kill()  # whatever of its group is left (beat's child process)
