"""Many threads routing at once (a threaded Celery worker, gunicorn threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.support.fixtures import TaskSpec
from tests.support.stub_openai import answer
from triage.models import ModelCall
from triage.routing import route


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_all_route_and_all_are_audited(make_model, make_router, stub_openai):
    make_model("shared-model")
    router = make_router("busy", tasks={"t": TaskSpec(pool=["shared-model"])})
    stub_openai.set_default("shared-model", answer("ok", prompt_tokens=3, completion_tokens=2))

    def one_call(index: int) -> str:
        try:
            return route(router, [{"role": "user", "content": f"request {index}"}], task="t").served_by
        finally:
            connection.close()  # each worker thread has its own connection

    with ThreadPoolExecutor(max_workers=6) as pool:
        served = list(pool.map(one_call, range(48)))

    assert served == ["shared-model"] * 48
    assert ModelCall.objects.filter(outcome="ok").count() == 48
    assert stub_openai.request_count("shared-model") == 48
