"""The Celery application; tasks live in ``triage.pipeline.tasks`` and stay thin."""

import gc
import logging
import os
import time
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
logger = logging.getLogger(__name__)

app = Celery("triage_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["triage.pipeline"])


@signals.celeryd_after_setup.connect
def warm_up(**_: Any) -> None:
    """Before the worker takes its first task: load the local models (about 0.4 s here), the token
    counter's encoding and the routing configuration, which would otherwise load inside the first
    tickets' steps (their first calls took 1-2.5 s in bench/pipeline.py). A failure is logged, not
    fatal: the first call then loads them, or reports why it can't."""
    from triage.local_models.builtin import local_models_warm
    from triage.routing.config import snapshot_current
    from triage.routing.tokens import count_text_tokens

    started = time.perf_counter()
    try:
        local_models_warm()
        count_text_tokens("warm-up")
        snapshot_current()
    except Exception:
        logger.warning("worker warm-up failed", exc_info=True)
        return
    logger.info("worker warmed up in %.0f ms", (time.perf_counter() - started) * 1000)


@signals.celeryd_after_setup.connect
def freeze_startup_objects(**_: Any) -> None:
    """After the warm-up: exempt the ~250,000 objects the worker started with (Django, the openai SDK,
    the local models) from the cyclic garbage collector. A full collection walks every one of them
    while holding the interpreter lock: mid-run in bench/pipeline.py it took 133-146 ms of CPU, and
    every thread of the process (every ticket in flight) stood still for it; frozen, 6.5-12.7 ms."""
    gc.collect()
    gc.freeze()
