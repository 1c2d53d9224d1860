"""Django admin: every page renders for staff, nobody else gets in, bad pools get clear errors."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet
from django.test import Client
from django.urls import reverse

from triage.models import (
    ApprovedReply,
    Feedback,
    LLMModel,
    ModelCall,
    PlaygroundRun,
    PoolEntry,
    Provider,
    Router,
    RouterTask,
    Ticket,
    TriageStep,
)

pytestmark = pytest.mark.django_db

ADMIN_MODELS = [
    Provider,
    LLMModel,
    Router,
    RouterTask,
    Ticket,
    ModelCall,
    Feedback,
    ApprovedReply,
    PlaygroundRun,
]


@pytest.fixture
def sample_rows(presets: None) -> None:
    router = Router.objects.get(name="triage-router")
    ticket = Ticket.objects.create(subject="Password reset", body="How do I reset it?", router=router)
    step = TriageStep.objects.create(ticket=ticket, task_name="classify_ticket", status="done")
    from django.utils import timezone

    Feedback.objects.create(
        ticket=ticket,
        step=step,
        task_name="classify_ticket",
        kind="correction",
        field="category",
        old_value="bug",
        new_value="billing",
        model_slug="openai-gpt-5-nano",
    )
    ApprovedReply.objects.create(
        ticket=ticket, text="Thanks!", draft_text="Thanks", approved_at=timezone.now()
    )
    PlaygroundRun.objects.create(router=router, prompt="hi")
    ModelCall.objects.create(
        router=router,
        task_name="classify_ticket",
        model=LLMModel.objects.get(slug="openai-gpt-5-nano"),
        model_slug="openai-gpt-5-nano",
        ticket=ticket,
        step=step,
        started_at=timezone.now(),
        outcome="ok",
    )


def _url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:triage_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_form_render_for_staff(
    client: Client, staff_user: User, sample_rows: None, model: type
) -> None:
    client.force_login(staff_user)
    listing = client.get(_url(model, "changelist"))
    assert listing.status_code == 200
    obj = model.objects.first()
    change = client.get(_url(model, "change", obj.pk))
    assert change.status_code == 200


@pytest.mark.parametrize("model", [Provider, LLMModel, Router, RouterTask], ids=lambda m: m.__name__)
def test_add_form_renders_for_staff(client: Client, staff_user: User, presets: None, model: type) -> None:
    client.force_login(staff_user)
    assert client.get(_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_anonymous_users_are_sent_to_login(client: Client, model: type) -> None:
    response = client.get(_url(model, "changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_agents_cannot_reach_the_admin(client: Client, agent_user: User) -> None:
    client.force_login(agent_user)
    response = client.get(_url(Router, "changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_provider_list_says_whether_the_key_is_set_but_never_shows_it(
    client: Client, staff_user: User, presets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DO_MODEL_ACCESS_KEY", "doo_v1_secret_value")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client.force_login(staff_user)
    page = client.get(_url(Provider, "changelist")).content.decode()
    assert "doo_v1_secret_value" not in page
    assert "OPENAI_API_KEY is not set" in page
    assert ">set<" in page


def _pool_post(task: RouterTask, models: list[LLMModel]) -> dict[str, str]:
    existing = list(task.pool.all())
    data = {
        "router": str(task.router_id),
        "name": task.name,
        "description": task.description,
        "example_utterances": task.example_utterances,
        "system_prompt": task.system_prompt,
        "selection_policy": task.selection_policy,
        "expected_input_tokens": "300",
        "expected_output_tokens": "40",
        "first_token_timeout_seconds": "10",
        "cascade_confidence_threshold": "0.6",
        "shadow_sample_rate": "0",
        "pool-TOTAL_FORMS": str(len(models)),
        "pool-INITIAL_FORMS": str(len(existing)),
        "pool-MIN_NUM_FORMS": "0",
        "pool-MAX_NUM_FORMS": "3",
    }
    for i, model in enumerate(models):
        data[f"pool-{i}-model"] = str(model.pk)
        data[f"pool-{i}-rank"] = str(i + 1)
        data[f"pool-{i}-task"] = str(task.pk)
        if i < len(existing):
            data[f"pool-{i}-id"] = str(existing[i].pk)
    return data


def test_admin_shows_a_clear_error_for_a_fourth_pool_model(
    client: Client, staff_user: User, presets: None
) -> None:
    client.force_login(staff_user)
    task = RouterTask.objects.get(router__name="triage-router", name="escalate_complex_issue")
    models = list(task.pool.values_list("model", flat=True))
    extra = list(
        LLMModel.objects.filter(provider__name__startswith="DigitalOcean").exclude(pk__in=models)[:2]
    )
    chosen = [e.model for e in task.pool.all()] + extra
    assert len(chosen) == 4
    response = client.post(_url(RouterTask, "change", task.pk), _pool_post(task, chosen))
    assert response.status_code == 200
    assert "holds at most 3 models" in response.content.decode()
    assert task.pool.count() == 2  # nothing half-saved


def test_admin_can_swap_a_pool_model_within_the_limit(
    client: Client, staff_user: User, presets: None
) -> None:
    client.force_login(staff_user)
    task = RouterTask.objects.get(router__name="triage-router", name="escalate_complex_issue")
    llama = LLMModel.objects.get(slug="llama3.3-70b-instruct")
    chosen = [e.model for e in task.pool.all()] + [llama]
    response = client.post(_url(RouterTask, "change", task.pk), _pool_post(task, chosen))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [e.model.slug for e in PoolEntry.objects.filter(task=task).order_by("rank")][-1] == llama.slug


def test_admin_rejects_an_escalation_threshold_outside_1_to_5(
    client: Client, staff_user: User, presets: None
) -> None:
    client.force_login(staff_user)
    response = client.post(
        _url(Router, "add"),
        {
            "name": "bad-threshold",
            "escalation_threshold": "9",
            "classifier_confidence_threshold": "0.35",
            "classifier_encoder": "tfidf",
            "categories": '["billing"]',
            "affinity_ttl_seconds": "3600",
            "request_deadline_seconds": "60",
            "enabled": "on",
            "tasks-TOTAL_FORMS": "0",
            "tasks-INITIAL_FORMS": "0",
            "fallbacks-TOTAL_FORMS": "0",
            "fallbacks-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "less than or equal to 5" in response.content.decode()
    assert not Router.objects.filter(name="bad-threshold").exists()


def test_ticket_changelist_does_not_query_per_row(
    client: Client, staff_user: User, presets: None, django_assert_max_num_queries: object
) -> None:
    router = Router.objects.get(name="triage-router")
    Ticket.objects.bulk_create(Ticket(subject=f"t{i}", body="b", router=router) for i in range(60))
    client.force_login(staff_user)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        assert client.get(_url(Ticket, "changelist")).status_code == 200


def test_admin_action_retriages_tickets_and_keeps_history(
    client: Client, staff_user: User, presets: None
) -> None:
    from triage.services.tickets import ticket_submit

    ticket = ticket_submit(subject="Password reset", body="How do I reset it?")
    TriageStep.objects.filter(ticket=ticket).update(status="done")
    Ticket.objects.filter(pk=ticket.pk).update(status="triaged")
    client.force_login(staff_user)
    response = client.post(
        _url(Ticket, "changelist"),
        {"action": "retriage_all_steps", "_selected_action": [ticket.pk]},
        follow=True,
    )
    assert "Re-triaging 1 tickets." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "queued"
    assert ticket.steps.count() == 8 and ticket.steps.filter(is_current=True, status="pending").count() == 4


def test_pool_changes_are_in_the_audit_log_with_who_and_when(
    client: Client, staff_user: User, presets: None
) -> None:
    from django.contrib.admin.models import LogEntry

    client.force_login(staff_user)
    task = RouterTask.objects.get(router__name="triage-router", name="escalate_complex_issue")
    llama = LLMModel.objects.get(slug="llama3.3-70b-instruct")
    chosen = [e.model for e in task.pool.all()] + [llama]
    assert client.post(_url(RouterTask, "change", task.pk), _pool_post(task, chosen)).status_code == 302
    entry = LogEntry.objects.get(object_id=str(task.pk))
    assert entry.user == staff_user and entry.action_time is not None
    assert (
        "pool entry" in entry.get_change_message() and "llama3.3-70b-instruct" in entry.get_change_message()
    )
    audit = client.get("/admin/admin/logentry/").content.decode()
    assert "escalate_complex_issue" in audit and "llama3.3-70b-instruct" in audit


def test_adding_an_api_key_shows_it_once_on_the_page_and_never_in_a_cookie_or_message(
    client: Client, staff_user: User
) -> None:
    from django.contrib.messages import get_messages

    from triage.models import ApiKey

    client.force_login(staff_user)
    response = client.post("/admin/triage/apikey/add/", {"name": "zendesk", "scopes": ["tickets", "routers"]})
    assert response.status_code == 200
    page = response.content.decode()
    raw = page.split('id="issued-api-key"')[1].split('value="')[1].split('"')[0]
    key = ApiKey.objects.get(name="zendesk")
    assert raw.startswith("trk_") and key.matches(raw) and key.scopes == ["tickets", "routers"]
    assert "won't be shown again" in page
    assert "no-store" in response["Cache-Control"]
    # not in any cookie (the messages cookie is signed, not encrypted), nor queued as a message
    assert all(raw not in morsel.value for morsel in response.cookies.values())
    assert all(raw not in str(message) for message in get_messages(response.wsgi_request))
    assert raw not in client.cookies.output()
    later = client.get("/admin/triage/apikey/").content.decode()
    assert raw not in later and raw not in client.get(_url(ApiKey, "change", key.pk)).content.decode()
    assert _log_entries(key).filter(action_flag=1).exists()  # the addition is in the audit log


def test_revoking_api_keys_in_the_admin_writes_an_audit_log_entry_per_key(
    client: Client, staff_user: User
) -> None:
    from triage.models import ApiKey

    client.force_login(staff_user)
    first, _ = ApiKey.issue(name="helpdesk")
    second, _ = ApiKey.issue(name="crm")
    already, _ = ApiKey.issue(name="old")
    already.revoke()
    response = client.post(
        "/admin/triage/apikey/",
        {"action": "revoke_keys", "_selected_action": [first.pk, second.pk, already.pk]},
        follow=True,
    )
    assert "Revoked 2 keys." in response.content.decode()
    for key in (first, second):
        key.refresh_from_db()
        assert key.revoked_at is not None
        entry = _log_entries(key).get(action_flag=2)
        assert entry.user == staff_user and "Revoked" in entry.get_change_message()
    assert not _log_entries(already).exists()  # revoked before: nothing changed, nothing logged
    audit = client.get("/admin/admin/logentry/").content.decode()
    assert "helpdesk" in audit and "crm" in audit


def _log_entries(obj: Model) -> QuerySet[LogEntry]:
    return LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))


def test_a_superuser_deletes_a_ticket_and_its_calls_keep_their_cost(
    client: Client, staff_user: User, sample_rows: None
) -> None:
    """Tickets can be deleted (a data-protection request, a test ticket); the spend stays counted."""
    client.force_login(staff_user)
    ticket = Ticket.objects.get(subject="Password reset")
    response = client.post(_url(Ticket, "delete", ticket.pk), {"post": "yes"})
    assert response.status_code == 302, response.content.decode()[:1500]
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    assert ModelCall.objects.filter(task_name="classify_ticket", ticket__isnull=True).count() == 1


def test_what_triage_sets_is_read_only_on_the_ticket_form(
    client: Client, staff_user: User, sample_rows: None
) -> None:
    client.force_login(staff_user)
    ticket = Ticket.objects.get(subject="Password reset")
    html = client.get(_url(Ticket, "change", ticket.pk)).content.decode()
    for field in ("status", "category", "urgency_score", "escalated"):
        assert f'name="{field}"' not in html, field  # shown, not an input


def test_settings_that_could_never_work_are_refused_with_a_reason(presets: None) -> None:
    from decimal import Decimal

    from django.core.exceptions import ValidationError

    from triage.models import ApiKey, Budget, Connector, WebhookEndpoint

    router = Router.objects.get(name="triage-router")
    remote = Provider.objects.exclude(kind="local").first()
    refused = {
        "task_name": Budget(router=router, task_name="escalate-complex-issue", daily_cap=Decimal("1")),
        "base_url": Provider(name="ftp", base_url="ftp://x.test/v1"),
        "url": WebhookEndpoint(name="w", url="ftp://127.0.0.1/h", events=["ticket.triaged"], secret_env=""),
        "context_window": LLMModel(slug="tiny", provider=remote, context_window=0),
        "slug": LLMModel(slug="local/custom", provider=Provider.objects.get(kind="local")),
        "secret_env": Connector(name="pm", kind="postmark", secret_env=""),
        "max_consecutive_failures": WebhookEndpoint(
            name="w0", url="https://x.test/h", events=["ticket.triaged"], max_consecutive_failures=0
        ),
        "rate_limit_per_minute": ApiKey(name="k", lookup="x", hashed_key="y", rate_limit_per_minute=0),
        "system_prompt": RouterTask(
            router=router, name="classify_ticket", description="d", system_prompt=" "
        ),
    }
    for field, row in refused.items():
        with pytest.raises(ValidationError) as error:
            row.full_clean()
        assert field in error.value.message_dict, (field, error.value.message_dict)
    Budget(router=router, task_name="escalate_complex_issue", daily_cap=Decimal("1")).full_clean()


def test_a_disabled_model_is_refused_as_shadow_but_does_not_block_unrelated_edits(
    client: Client, staff_user: User, presets: None
) -> None:
    """Disabling a model a pool names doesn't make every later edit of that task fail."""
    client.force_login(staff_user)
    task = RouterTask.objects.get(router__name="triage-router", name="escalate_complex_issue")
    pooled = [e.model for e in task.pool.all()]
    LLMModel.objects.filter(pk=pooled[0].pk).update(enabled=False)
    data = {**_pool_post(task, pooled), "selection_policy": "manual_ranking"}
    response = client.post(_url(RouterTask, "change", task.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post(_url(RouterTask, "change", task.pk), {**data, "shadow_model": str(pooled[0].pk)})
    assert response.status_code == 200 and "is disabled in the catalog" in response.content.decode()


def test_disabling_a_pooled_model_warns_which_pools_skip_it(staff_user: User, presets: None) -> None:
    from django.contrib.admin.sites import site
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    request = RequestFactory().post("/")
    request.user, request.session = staff_user, {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    nano = LLMModel.objects.get(slug="openai-gpt-5-nano")
    nano.enabled = False
    site._registry[LLMModel].save_model(request, nano, form=None, change=True)
    (warning,) = [str(m) for m in request._messages]  # type: ignore[attr-defined]
    assert "openai-gpt-5-nano is disabled" in warning and "triage-router:classify_ticket" in warning
