"""The audit trail of model calls: one ``ModelCall`` row per attempt, written off the request path.

Writing a request's rows inline costs a database round trip and a commit on every model call
(about 1 ms here, more than everything else the router adds). So by default a per-process writer
thread takes the rows from a queue and inserts whatever has piled up in one statement, while the
request goes on (the writer lingers up to 50 ms for more rows to share an INSERT). Callers that read
the rows back at once call :func:`audit_flush` first.

Rows are written inline instead when the caller is inside a transaction (they commit or roll back
with it, and may name a ticket only that transaction can see), when the writer is turned off
(``ROUTING_AUDIT_BACKGROUND = False``), and when the queue is full (back-pressure, never a drop).
What the writer can lose: rows queued in the last few milliseconds before the process is killed
(SIGKILL, power loss). A normal exit flushes the queue (``atexit``).

Queue handling and batching use the standard library (``queue`` + one daemon thread): Celery or a
broker would cost more per row than the insert it saves, and nothing else has to be installed.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction

from triage.models import ModelCall
from triage.once import PerProcess

logger = logging.getLogger(__name__)

BATCH_MAX = 200  # rows per INSERT
LINGER_SECONDS = 0.05  # after the first row, wait this long for more to share its INSERT
QUEUE_MAX = 10_000  # rows waiting; past it, callers write inline
RETRY_SECONDS = 60.0  # how long a batch is retried while the database is unreachable
IDLE_CLOSE_SECONDS = 30.0  # no rows for this long: close the writer's database connection


def audit_record(rows: list[ModelCall]) -> None:
    """Store a request's audit rows: queued for the writer, or inline (see the module docstring)."""
    if not rows:
        return
    connection = connections[ModelCall.objects.db]
    if connection.in_atomic_block or not getattr(settings, "ROUTING_AUDIT_BACKGROUND", True):
        audit_insert(rows)
        return
    if not _writer().submit(rows):
        audit_insert(rows)


def audit_flush(timeout: float = 10.0) -> bool:
    """Wait until the writer has written every row queued in this process so far (or given up on
    them after its retries, which it logs); False on timeout. Rows other threads queue meanwhile
    don't hold it up."""
    writer = _current.peek()
    return True if writer is None else writer.flush(timeout)


def audit_insert(rows: list[ModelCall]) -> None:
    """Insert audit rows in one statement, in the caller's thread.

    On PostgreSQL the statement also turns ``synchronous_commit`` off for its own transaction only
    (``set_config(..., true)``): nobody waits for the WAL flush of an audit row. A database crash can
    lose the last fraction of a second of audit rows, never corrupt them; every other write keeps the
    server's setting. Inside a caller's transaction (whose commit isn't ours to relax) and on other
    databases it is a plain insert. ``ROUTING_AUDIT_ASYNC_COMMIT = False`` in settings turns it off.
    Like ``bulk_create``, the statement sends no model signals.
    """
    connection = connections[ModelCall.objects.db]
    asynchronous = (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block  # a caller's transaction keeps its own durability
        and getattr(settings, "ROUTING_AUDIT_ASYNC_COMMIT", True)
    )
    if not asynchronous:
        if len(rows) == 1:
            rows[0].save(force_insert=True)
        else:
            ModelCall.objects.bulk_create(rows)
        return
    fields, sql = _audit_statement(connection, len(rows))
    params = [
        field.get_db_prep_save(field.pre_save(row, add=True), connection) for row in rows for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_audit_statements: dict[tuple[str, int], tuple[list[Any], str]] = {}


def _audit_statement(connection: Any, count: int) -> tuple[list[Any], str]:
    """The fields and the INSERT statement for ``count`` rows, built once per process and size."""
    key = (connection.alias, count)
    found = _audit_statements.get(key)
    if found is None:
        fields = [field for field in ModelCall._meta.concrete_fields if not field.primary_key]
        quote = connection.ops.quote_name
        placeholders = ", ".join(f"%s::{field.db_type(connection)}" for field in fields)
        values = ", ".join([f"({placeholders})"] * count)
        columns = ", ".join(quote(field.column) for field in fields)
        # built from the model's own metadata (quoted names, database types); values are parameters
        sql = (
            f"INSERT INTO {quote(ModelCall._meta.db_table)} ({columns}) "  # noqa: S608
            f"SELECT * FROM (VALUES {values}) AS audit "
            "WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL"
        )
        found = (fields, sql)
        if count <= 16:
            _audit_statements[key] = found
    return found


class AuditWriter:
    """One daemon thread per process that inserts queued audit rows in batches."""

    def __init__(self) -> None:
        self._queue: queue.Queue[list[ModelCall]] = queue.Queue()
        self._queued = 0  # rows ever queued; the queue is filled in this order
        self._done = 0  # rows ever written (or given up on), in queue order
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._hurry = threading.Event()  # a flush is waiting: write now, don't linger
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: list[ModelCall]) -> bool:
        with self._lock:
            if self._queued - self._done + len(rows) > QUEUE_MAX:  # rows queued or being written
                return False
            self._queued += len(rows)
            self._queue.put(rows)  # under the lock: queue order is the order counted in _queued
        return True

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._queued
        if self._done >= target:
            return True
        self._hurry.set()
        self._queue.put([])  # wakes a lingering writer
        with self._idle:
            while self._done < target:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._idle.wait(left)
        return True

    def _run(self) -> None:
        while True:
            try:
                batch = list(self._queue.get(timeout=IDLE_CLOSE_SECONDS))
            except queue.Empty:
                connections.close_all()  # this thread's connection: an idle process holds none
                batch = list(self._queue.get())
            linger_until = time.monotonic() + LINGER_SECONDS
            while len(batch) < BATCH_MAX and not self._hurry.is_set():
                left = linger_until - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.extend(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            self._hurry.clear()  # before the last take: a flush asked from here on hurries the next batch
            while len(batch) < BATCH_MAX:  # whatever else is already waiting
                try:
                    batch.extend(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not batch:
                continue
            try:
                self._write(batch)
            except Exception:  # never let the thread die: later rows still need writing
                logger.exception("audit writer: %d model-call rows not written", len(batch))
            finally:
                with self._idle:
                    self._done += len(batch)
                    self._idle.notify_all()

    def _write(self, batch: list[ModelCall]) -> None:
        give_up = time.monotonic() + RETRY_SECONDS
        delay = 0.05
        while True:
            try:
                audit_insert(batch)
                return
            except IntegrityError:
                # e.g. a row naming a ticket deleted meanwhile: keep every other row of the batch
                self._write_one_by_one(batch)
                return
            except DatabaseError:  # the database away (OperationalError) or refusing for a while
                connections[ModelCall.objects.db].close()  # reconnect on the next try
                if time.monotonic() >= give_up:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _write_one_by_one(self, batch: list[ModelCall]) -> None:
        lost = 0
        for row in batch:
            try:
                with transaction.atomic(using=ModelCall.objects.db):
                    row.save(force_insert=True)
            except IntegrityError:
                lost += 1
        if lost:
            logger.warning("audit writer: %d model-call rows rejected by the database", lost)


_current: PerProcess[AuditWriter] = PerProcess()


def _writer() -> AuditWriter:
    """This process's writer, started on first use (and again in a forked child)."""
    return _current.get(AuditWriter)


atexit.register(audit_flush)
