"""A worker rides out a Redis restart: it keeps running and consumes what is sent after Redis is back.

kombu ends a worker with "Unrecoverable error: 'NoneType' object has no attribute 'hostname'" when
the broker connection drops while the remote-control (broadcast) consumer is being torn down (it was
10 exits in 10 runs in a reproduction here); with remote control off (``CELERY_WORKER_ENABLE_REMOTE_CONTROL``)
it survived 30 restarts in 30. The worker here uses a private redis-server (never the Redis the
rest of the suite uses), restarted twice with tickets in flight.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.stub_openai import StubOpenAI, delayed
from triage.models import Ticket
from triage.services.tickets import ticket_submit

pytestmark = pytest.mark.django_db(transaction=True)

SETTLED = {"triaged", "needs_attention", "failed"}


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "yes"]
        files = ["--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")]
        subprocess.run(["redis-server", "--port", str(self.port), *options, *files], check=True)
        deadline = time.monotonic() + 10
        while not self.answers():
            assert time.monotonic() < deadline, "private redis-server did not start"
            time.sleep(0.05)

    def answers(self) -> bool:
        ping = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return ping.stdout.strip() == "PONG"

    def shutdown(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        deadline = time.monotonic() + 10
        while self.answers():
            assert time.monotonic() < deadline, "private redis-server did not stop"
            time.sleep(0.05)


@pytest.fixture
def private_redis(tmp_path: Path) -> Any:
    if not shutil.which("redis-server"):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but redis-server is not installed")
        pytest.skip("needs redis-server")
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.shutdown()


def _send(ticket: Ticket, broker_url: str) -> None:
    """Queue the ticket's triage on the worker's broker (not the one this test process uses)."""
    from triage.pipeline.tasks import triage_ticket_task
    from triage_site.celery import app

    deadline = time.monotonic() + 30
    while True:
        try:
            with app.connection_for_write(broker_url) as connection:
                triage_ticket_task.apply_async((ticket.pk,), connection=connection, retry=False)
            return
        except Exception:  # Redis is still coming back
            assert time.monotonic() < deadline, "could not reach the private broker"
            time.sleep(0.2)


def _wait_settled(tickets: list[Ticket], worker: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for ticket in tickets:
        while True:
            ticket.refresh_from_db()
            if ticket.status in SETTLED:
                break
            assert worker.process.poll() is None, f"the worker exited:\n{worker.log()}"
            assert time.monotonic() < deadline, f"ticket {ticket.pk} stayed {ticket.status}\n{worker.log()}"
            time.sleep(0.05)


def test_a_worker_keeps_consuming_through_redis_restarts(
    stub_triage_router: Any, stub_openai: StubOpenAI, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    from tests.pipeline.worker import LiveWorker
    from tests.support.fixtures import STUB_KEY_ENV

    for model in ("stub-reply-premium", "stub-brief"):
        stub_openai.set_default(model, delayed(1.0, '{"reply": "On it.", "summary": "Outage."}'))
    env = {STUB_KEY_ENV: "stub-secret-key", "REDIS_URL": private_redis.url}
    worker = LiveWorker(concurrency=8, extra_env=env, log=tmp_path / "worker.log").start()
    try:
        for restart in range(2):
            in_flight = [
                ticket_submit(
                    router=stub_triage_router, subject=f"Outage {restart}-{n}", body="Down.", enqueue=False
                )
                for n in range(4)
            ]
            for ticket in in_flight:
                _send(ticket, private_redis.url)
            deadline = time.monotonic() + 30
            while stub_openai.request_count("stub-reply-premium") < 4 * restart + 2:
                assert time.monotonic() < deadline, worker.log()
                time.sleep(0.02)
            private_redis.shutdown()  # with calls in flight and their messages unacknowledged
            time.sleep(2)
            private_redis.start()
            after = ticket_submit(
                router=stub_triage_router, subject=f"After {restart}", body="Down.", enqueue=False
            )
            _send(after, private_redis.url)
            _wait_settled([*in_flight, after], worker)  # the ticket sent after the restart was consumed
        assert worker.process is not None and worker.process.poll() is None, worker.log()
    finally:
        worker.stop()
    assert "Unrecoverable error" not in worker.log()
