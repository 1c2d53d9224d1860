"""The stub model server in a child process, so its threads don't compete for the benchmark's GIL.

Fork it before the benchmark opens any database connection (the child never touches one and
leaves with ``os._exit``). ``defaults`` maps a model slug to the behaviour it answers with.
"""

from __future__ import annotations

import multiprocessing
import os

from tests.support.stub_openai import Behaviour, StubOpenAI


class StubProcess:
    def __init__(self, defaults: dict[str, Behaviour] | None = None) -> None:
        context = multiprocessing.get_context("fork")
        self._defaults = defaults or {}
        self._ready = context.Queue()
        self._stop = context.Event()
        self._process = context.Process(target=self._serve, daemon=True)
        self._process.start()
        self.base_url: str = self._ready.get(timeout=30)

    def _serve(self) -> None:
        stub = StubOpenAI()
        stub.record_requests = False
        for slug, behaviour in self._defaults.items():
            stub.set_default(slug, behaviour)
        stub.start()
        self._ready.put(stub.base_url)
        self._stop.wait(3600)
        stub.stop()
        os._exit(0)

    @property
    def pid(self) -> int:
        return int(self._process.pid or 0)

    def stop(self) -> None:
        self._stop.set()
        self._process.join(timeout=10)
