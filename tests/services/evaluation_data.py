"""Labeled tickets with known stored answers, written straight through the ORM (no model is asked).

A two-model classify pool, ``cheap-model`` then ``strong-model``, on router ``eval-router``. Every
block of 20 tickets (ticket i, i mod 20):

* cheap is right on 14: on 0-11 with confidence 0.9, on 12-13 with 0.4; wrong on 14-17 with 0.3
  and on 18-19 with 0.8;
* strong is right on all but ticket 0;
* tickets whose cheap confidence is below 0.6 (12-17) were cascaded: their current step's
  ``answers`` hold cheap's doubted answer and strong's kept one; the others' current step was
  served by cheap alone, and an older step (a re-run) by strong.

Every answer has its ``ModelCall`` row: cheap costs $0.0001 in 100 ms, strong $0.001 in 1,000 ms.
The label is an agent's correction of the ticket's category.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from triage.models import (
    Feedback,
    LLMModel,
    ModelCall,
    PoolEntry,
    Provider,
    Router,
    RouterTask,
    Ticket,
    TriageStep,
)

CHEAP, STRONG = "cheap-model", "strong-model"
CHEAP_COST, STRONG_COST = Decimal("0.0001"), Decimal("0.001")
CHEAP_MS, STRONG_MS = 100, 1000
CATEGORIES = ["billing", "bug", "how-to", "account", "feature-request", "other"]
# (cheap right, cheap's confidence) for i mod 20
CHEAP_PLAN = [(True, 0.9)] * 12 + [(True, 0.4)] * 2 + [(False, 0.3)] * 4 + [(False, 0.8)] * 2
STRONG_WRONG = {0}
CASCADED_BELOW = 0.6  # the threshold the stored cascade ran at


def label_of(i: int) -> str:
    return CATEGORIES[i % len(CATEGORIES)]


def wrong_of(i: int) -> str:
    return CATEGORIES[(i + 1) % len(CATEGORIES)]


def make_eval_router(*, threshold: str = "0.6", local: bool = False, enabled: bool = True) -> Router:
    provider = Provider.objects.create(
        name="Eval provider", kind=Provider.Kind.OPENAI_COMPATIBLE, base_url="http://127.0.0.1:9/v1"
    )
    cheap = LLMModel.objects.create(
        slug=CHEAP, provider=provider, input_price_per_m=Decimal("1"), output_price_per_m=Decimal("2")
    )
    strong = LLMModel.objects.create(
        slug=STRONG, provider=provider, input_price_per_m=Decimal("10"), output_price_per_m=Decimal("20")
    )
    router = Router.objects.create(name="eval-router", categories=list(CATEGORIES))
    task = RouterTask.objects.create(
        router=router,
        name="classify_ticket",
        description="Categorize support tickets",
        system_prompt="Choose one of {categories}.",
        selection_policy="manual_ranking",
        cascade_enabled=enabled,
        cascade_confidence_threshold=Decimal(threshold),
        cascade_on_local_disagreement=local,
    )
    PoolEntry.objects.create(task=task, model=cheap, rank=1)
    PoolEntry.objects.create(task=task, model=strong, rank=2)
    return router


def make_labeled_tickets(router: Router, count: int = 20) -> list[Ticket]:
    """``count`` labeled tickets with their steps, calls and corrections, in a few bulk inserts."""
    now = timezone.now()
    tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                subject=f"Ticket {i}",
                body=f"Body of ticket {i}",
                router=router,
                status=Ticket.Status.TRIAGED,
                category=label_of(i),
                triaged_at=now,
            )
            for i in range(count)
        ]
    )
    steps: list[TriageStep] = []
    plans: list[tuple[int, TriageStep, list[str]]] = []  # (i, step, the models that answered in it)
    for i, ticket in enumerate(tickets):
        right, confidence = CHEAP_PLAN[i % 20]
        cheap_answer = {"category": label_of(i) if right else wrong_of(i), "confidence": confidence}
        strong_answer = {
            "category": wrong_of(i) if i % 20 in STRONG_WRONG else label_of(i),
            "confidence": 0.95,
        }
        if confidence < CASCADED_BELOW:
            step = TriageStep(
                ticket=ticket,
                task_name="classify_ticket",
                status=TriageStep.Status.DONE,
                result=strong_answer,
                served_by=STRONG,
                latency_ms=CHEAP_MS + STRONG_MS,
                cost=CHEAP_COST + STRONG_COST,
                escalation_reason=f"low confidence {confidence:.2f}",
                answers=[
                    {"model": CHEAP, "result": cheap_answer, "confidence": confidence,
                     "doubt": f"low confidence {confidence:.2f}", "kept": False, "cost": str(CHEAP_COST)},
                    {"model": STRONG, "result": strong_answer, "confidence": 0.95, "doubt": "", "kept": True,
                     "cost": str(STRONG_COST)},
                ],
            )  # fmt: skip
            steps.append(step)
            plans.append((i, step, [CHEAP, STRONG]))
        else:
            older = TriageStep(
                ticket=ticket,
                task_name="classify_ticket",
                is_current=False,
                status=TriageStep.Status.DONE,
                result=strong_answer,
                served_by=STRONG,
                latency_ms=STRONG_MS,
                cost=STRONG_COST,
            )
            current = TriageStep(
                ticket=ticket,
                task_name="classify_ticket",
                status=TriageStep.Status.DONE,
                result=cheap_answer,
                served_by=CHEAP,
                latency_ms=CHEAP_MS,
                cost=CHEAP_COST,
            )
            steps += [older, current]
            plans += [(i, older, [STRONG]), (i, current, [CHEAP])]
    TriageStep.objects.bulk_create(steps)
    calls = [
        ModelCall(
            router=router,
            task_name="classify_ticket",
            model_slug=slug,
            ticket_id=step.ticket_id,
            step=step,
            started_at=now,
            latency_ms=CHEAP_MS if slug == CHEAP else STRONG_MS,
            outcome="ok",
            cost=CHEAP_COST if slug == CHEAP else STRONG_COST,
        )
        for _, step, slugs in plans
        for slug in slugs
    ]
    ModelCall.objects.bulk_create(calls)
    Feedback.objects.bulk_create(
        [
            Feedback(
                ticket=ticket,
                task_name="classify_ticket",
                kind=Feedback.Kind.CORRECTION,
                field="category",
                old_value=wrong_of(i),
                new_value=label_of(i),
                # the model the agent corrected: the step's served_by
                model_slug=STRONG if CHEAP_PLAN[i % 20][1] < CASCADED_BELOW else CHEAP,
            )
            for i, ticket in enumerate(tickets)
        ]
    )
    return tickets
