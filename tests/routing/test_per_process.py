"""The per-process holder behind the audit writer and the state mirror."""

from __future__ import annotations

import multiprocessing

from triage.routing.per_process import PerProcess

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
