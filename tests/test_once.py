"""Objects built once: per process (rebuilt after fork) and once for all threads."""

from __future__ import annotations

import multiprocessing

from triage.once import PerProcess, built_once

holder: PerProcess[object] = PerProcess()


def _child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    inherited = holder.peek()
    queue.put((inherited is None, holder.get(object) is not None))


def test_builds_once_per_process_and_again_in_a_forked_child():
    holder.reset()
    assert holder.peek() is None  # nothing built yet, and peek never builds
    first = holder.get(object)
    assert holder.get(object) is first and holder.peek() is first

    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()  # type: ignore[type-arg]
    child = multiprocessing.get_context("fork").Process(target=_child, args=(queue,))
    child.start()
    child.join(timeout=30)

    assert queue.get(timeout=5) == (True, True)  # the child didn't see the parent's, built its own
    assert holder.peek() is first  # the parent keeps its own
    holder.reset()


def test_built_once_builds_a_single_object_for_many_threads():
    import threading
    import time

    calls = []

    @built_once
    def slow_build() -> object:
        calls.append(1)
        time.sleep(0.05)  # every thread asks while the first one is still building
        return object()

    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(slow_build())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert len(seen) == 8 and all(value is seen[0] for value in seen)
