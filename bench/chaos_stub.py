"""A fault-injecting wrapper around the scriptable stub model server (tests/support/stub_openai.py).

``ChaosStub`` is a ``StubOpenAI`` whose behaviour for each request is drawn at random: a share of
requests fail with a mix of 429 (Retry-After), 500, a hang past the client's timeout, a body that is
not JSON, and a well-formed answer the validator rejects; the rest answer with valid JSON for the
task. One model can be taken fully down for a time window (connection drops or 500s).

Every request is attributed to a (ticket, step): the ticket from the unique subject in the user
message (``Subject: soak-<n>``), the step from the system prompt (``[task:<name>]``). The stub
counts, per (ticket, step), how many requests it answered successfully (a valid answer, sent in
full), and per model every request with its time and what was done, for the outage figures.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from tests.support.stub_openai import (
    Behaviour,
    RecordedRequest,
    StubOpenAI,
    answer,
    hang,
    malformed,
    rate_limited,
    server_error,
)

SUBJECT = re.compile(r"Subject: (\S+)")
TASK = re.compile(r"\[task:([a-z_]+)\]")

CLASSIFY = "classify_ticket"
URGENCY = "urgency_detection"
REPLY = "draft_customer_reply"
BRIEF = "escalate_complex_issue"


def ticket_number(subject: str) -> int:
    match = re.search(r"(\d+)$", subject)
    return int(match.group(1)) if match else 0


def valid_content(task: str, subject: str) -> str:
    """A valid answer for ``task``; urgency is 5 (escalate) for odd ticket numbers, else 2."""
    if task == CLASSIFY:
        return json.dumps({"category": "bug", "confidence": 0.9})
    if task == URGENCY:
        high = ticket_number(subject) % 2 == 1
        return json.dumps(
            {
                "score": 5 if high else 2,
                "sentiment": "angry" if high else "neutral",
                "escalation_risk": high,
                "reason": "outage" if high else "question",
            }
        )
    if task == REPLY:
        return json.dumps({"reply": "Thanks for the report. We are looking into it now."})
    return json.dumps({"summary": "Dashboard outage for many users.", "next_steps": ["check the gateway"]})


def invalid_content(task: str) -> str:
    """Well-formed JSON (HTTP 200) that the task's validator rejects."""
    if task == CLASSIFY:
        return json.dumps({"category": "not-a-category", "confidence": 0.9})
    if task == URGENCY:
        return json.dumps({"score": 42, "sentiment": "??"})
    return ""  # an empty reply or brief is rejected


@dataclass
class Event:
    at: float  # time.time()
    model: str
    subject: str
    task: str
    kind: str  # ok | invalid | rate_limited | server_error | hang | malformed | down


class ChaosStub(StubOpenAI):
    """The stub with random faults at ``error_rate`` and an optional outage of one model."""

    def __init__(
        self,
        *,
        error_rate: float = 0.3,
        timeout_seconds: float = 2.0,
        delay: float = 0.0,
        healthy: tuple[str, ...] = (),
        seed: int = 7,
    ) -> None:
        super().__init__()
        self.error_rate = error_rate
        self.timeout_seconds = timeout_seconds
        self.delay = delay
        self.healthy = set(healthy)  # models that never fail (the fallback)
        self.rng = random.Random(seed)
        self.down_model = ""
        self.down_from = 0.0
        self.down_until = 0.0
        self._local = threading.local()
        self._chaos_lock = threading.Lock()
        self.successes: Counter[tuple[str, str]] = Counter()  # (subject, task) -> valid answers sent
        self.events: list[Event] = []
        self.by_kind: dict[str, Counter[str]] = defaultdict(Counter)  # model -> kind -> count

    def take_down(self, model: str, *, seconds: float) -> None:
        self.down_model, self.down_from, self.down_until = model, time.time(), time.time() + seconds

    def is_down(self, model: str, now: float) -> bool:
        return model == self.down_model and self.down_from <= now < self.down_until

    # the handler calls record() then next_behaviour() in the same thread: keep the body between them
    def record(self, request: RecordedRequest) -> None:
        self._local.body = request.body

    def next_behaviour(self, model: str) -> Behaviour:
        body: dict[str, Any] = getattr(self._local, "body", {}) or {}
        system = " ".join(
            str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "system"
        )
        user = " ".join(
            str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user"
        )
        task_match, subject_match = TASK.search(system), SUBJECT.search(user)
        task = task_match.group(1) if task_match else "?"
        subject = subject_match.group(1) if subject_match else "?"
        now = time.time()
        kind, behaviour = self._draw(model, task, subject, now)
        with self._chaos_lock:
            self.events.append(Event(now, model, subject, task, kind))
            self.by_kind[model][kind] += 1
            if kind == "ok":
                self.successes[(subject, task)] += 1
        return behaviour

    def _draw(self, model: str, task: str, subject: str, now: float) -> tuple[str, Behaviour]:
        if self.is_down(model, now):
            with self._chaos_lock:
                drop = self.rng.random() < 0.5
            # hang(0) closes the connection without a response: the client sees a connection error
            return "down", hang(0.0) if drop else server_error(500)
        with self._chaos_lock:
            roll = self.rng.random()
            pick = self.rng.random()
        if model in self.healthy or roll >= self.error_rate:
            return "ok", answer(valid_content(task, subject), delay=self.delay)
        if pick < 0.25:
            return "rate_limited", rate_limited(retry_after=1 + int(pick * 8))  # 1 or 2 s
        if pick < 0.5:
            return "server_error", server_error(500)
        if pick < 0.7:
            return "hang", hang(self.timeout_seconds + 1.0)
        if pick < 0.85:
            return "malformed", malformed()
        return "invalid", answer(invalid_content(task), delay=self.delay)
