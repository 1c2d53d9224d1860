"""Objects a process builds once, on first use.

- :func:`built_once` for plain data (model weights, an index, an encoding): built by the first
  caller, shared by every thread, and inherited by a forked child as it is.
- :class:`PerProcess` for objects that own threads (the step executor). Threads don't survive
  ``fork`` (gunicorn and Celery fork their workers from a parent that
  may have used them), so a forked child builds its own; the holder notices by the process id.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def built_once(build: Callable[[], T]) -> Callable[[], T]:
    """Decorate a builder: the first call builds (one thread builds, the others wait), later calls
    return the same object."""
    lock = threading.Lock()
    built: list[T] = []

    @functools.wraps(build)
    def get() -> T:
        if not built:
            with lock:
                if not built:
                    built.append(build())
        return built[0]

    return get


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
