"""The floor under bench/pipeline.py: the least any implementation of the pipeline issue has to do
per ticket on this stack, with none of the product's own logic, measured the same way.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/pipeline_floor.py [--tickets 1000] [--concurrency 32] [--delays 0,0.2]

Per ticket, one Celery task (acks_late, prefetch 1, Redis broker, thread pool: the issue's
settings) that marks the ticket triaging, runs the four calls in the pipeline's shape (classify
beside urgency, then reply beside the brief) with one ``chat.completions.create`` each through the
openai SDK, reads the ticket's step ids in one query, writes each step's claim and result with one
ORM ``filter(...).update(...)`` apiece, and marks the ticket triaged. No routing, no validation, no audit rows, no leases, no failover. Whatever
bench/pipeline.py measures above this is the product's own overhead; what this measures is the
stack's (Celery, the SDK, the ORM, PostgreSQL, Redis, the stub, on this machine's cores).
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from celery import Celery  # noqa: E402 - after the path is set

import bench.pipeline as pipeline  # noqa: E402 - sets the bench's environment defaults first

QUEUE = "pipeline-floor"
app = Celery("pipeline_floor")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = QUEUE

_pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="floor-step")
_clients: dict[str, Any] = {}


@app.task(name="bench.floor_ticket", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def floor_ticket(ticket_id: int, base_url: str) -> None:
    from django.utils import timezone

    from triage.models import Ticket, TriageStep

    Ticket.objects.filter(pk=ticket_id).update(status=Ticket.Status.TRIAGING, updated_at=timezone.now())
    steps = dict(
        TriageStep.objects.filter(ticket_id=ticket_id, is_current=True).values_list("task_name", "pk")
    )
    classify = _pool.submit(_floor_step, steps["classify_ticket"], "classify_ticket", base_url)
    _floor_step(steps["urgency_detection"], "urgency_detection", base_url)
    reply = _pool.submit(_floor_step, steps["draft_customer_reply"], "draft_customer_reply", base_url)
    _floor_step(steps["escalate_complex_issue"], "escalate_complex_issue", base_url)
    classify.result()
    reply.result()
    now = timezone.now()
    Ticket.objects.filter(pk=ticket_id).update(status=Ticket.Status.TRIAGED, triaged_at=now, updated_at=now)


def _floor_step(step_id: int, task: str, base_url: str) -> None:
    import json

    import openai
    from django.utils import timezone

    from triage.models import TriageStep

    client = _clients.get(base_url)
    if client is None:
        client = _clients[base_url] = openai.OpenAI(base_url=base_url, api_key="bench-key", max_retries=0)
    TriageStep.objects.filter(pk=step_id).update(status=TriageStep.Status.RUNNING, started_at=timezone.now())
    response = client.chat.completions.create(
        model=f"bench-{task}", messages=[{"role": "user", "content": "Dashboard down, 200 users blocked."}]
    )
    result = json.loads(response.choices[0].message.content or "{}")
    TriageStep.objects.filter(pk=step_id).update(
        status=TriageStep.Status.DONE, result=result, finished_at=timezone.now()
    )


def _submit_floor_tickets(router: Any, tickets: int, stub_url: str) -> list[int]:
    """Tickets and their pending steps written directly, each with a floor task queued."""
    from triage.models import Ticket, TriageStep
    from triage.pipeline.subtasks import subtask_names

    made = Ticket.objects.bulk_create(
        Ticket(router=router, subject=f"Outage {i}", body="Dashboard down, 200 users blocked.")
        for i in range(tickets)
    )
    TriageStep.objects.bulk_create(
        TriageStep(ticket=t, task_name=name) for t in made for name in subtask_names()
    )
    for ticket in made:
        floor_ticket.delay(ticket.pk, stub_url)
    return [ticket.pk for ticket in made]


if __name__ == "__main__":
    sys.exit(
        pipeline.run_bench(
            __doc__ or "",
            "pipeline floor (no routing, validation, audit or leases)",
            _submit_floor_tickets,
            celery_app=app,
            app="bench.pipeline_floor",
            queue=QUEUE,
        )
    )
