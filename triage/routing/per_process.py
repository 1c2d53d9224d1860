"""One instance per process, built on first use and built again in a forked child.

The audit writer and the state mirror each own a daemon thread. Threads don't survive ``fork``
(gunicorn and Celery fork their workers from a parent that may have used them), so each process
needs its own instance; this holder notices the fork by the process id.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    def __init__(self) -> None:
        self._value: T | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self, build: Callable[[], T]) -> T:
        """This process's instance, built with ``build()`` if there is none yet."""
        value = self.peek()
        if value is None:
            with self._lock:
                value = self.peek()
                if value is None:
                    value = self._value = build()
                    self._pid = os.getpid()
        return value

    def peek(self) -> T | None:
        """This process's instance, or None if it has none (never builds one)."""
        return self._value if self._pid == os.getpid() else None

    def reset(self) -> None:
        """Forget the instance (tests: the next ``get`` builds a new one)."""
        with self._lock:
            self._value, self._pid = None, 0
