"""Celery entry points only: each is a door to one service function."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from triage.pipeline.triage import tickets_sweep_stuck, triage_ticket
from triage.services.deliveries import deliveries_send_due, delivery_send
from triage.services.retrain import retrain_local_models
from triage.services.shadow import shadow_compare


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # used by the prefork and gevent pools; under threads the run keeps TRIAGE_TASK_SOFT_TIME_LIMIT itself
    soft_time_limit=settings.TRIAGE_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.TRIAGE_TASK_HARD_TIME_LIMIT,
)
def triage_ticket_task(ticket_id: int) -> None:
    triage_ticket(ticket_id=ticket_id)


@shared_task(ignore_result=True)
def sweep_stuck_tickets_task() -> None:
    tickets_sweep_stuck()


@shared_task(
    ignore_result=True,
    # a shadow is a sample: one lost with its worker is not asked (and billed) again
    acks_late=False,
    soft_time_limit=settings.TRIAGE_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.TRIAGE_TASK_HARD_TIME_LIMIT,
)
def shadow_compare_task(step_id: int) -> None:
    shadow_compare(step_id)


@shared_task(
    ignore_result=True,
    # weekly by beat (TRIAGE_RETRAIN_CRON); one lost with its worker waits for the next week
    acks_late=False,
    soft_time_limit=settings.TRIAGE_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.TRIAGE_TASK_HARD_TIME_LIMIT,
)
def retrain_local_models_task() -> None:
    retrain_local_models()


@shared_task(
    ignore_result=True,
    # the database row is the queue: a delivery lost with its worker is sent by the next sweep
    acks_late=False,
    soft_time_limit=settings.TRIAGE_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.TRIAGE_TASK_HARD_TIME_LIMIT,
)
def send_delivery_task(delivery_id: int) -> None:
    delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def send_due_deliveries_task() -> None:
    deliveries_send_due()
