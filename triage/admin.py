"""Django admin: where staff configure providers, the catalog, routers, tasks and pools."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from triage.models import (
    MAX_POOL_SIZE,
    ApiKey,
    ApprovedReply,
    FallbackEntry,
    Feedback,
    LLMModel,
    LocalModelTraining,
    ModelCall,
    PlaygroundRun,
    PoolEntry,
    Provider,
    Router,
    RouterTask,
    ShadowComparison,
    Ticket,
    TicketMessage,
    TriageStep,
)
from triage.models.apikeys import DEFAULT_SCOPES, SCOPE_CHOICES

# importing the routing package also connects the signals that publish admin edits to every process
from triage.routing.breaker_admin import breaker_summary, provider_in_process
from triage.services.model_check import models_check, probes_total_cost


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "base_url", "api_key_env", "key_status", "timeout_seconds", "enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "base_url"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="key")
    def key_status(self, provider: Provider) -> str:
        if provider_in_process(provider):
            return "not needed (local)"
        if not provider.api_key_env:
            return "not needed"
        return "set" if provider.key_is_set() else f"{provider.api_key_env} is not set"


@admin.register(LLMModel)
class LLMModelAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "provider",
        "display_name",
        "input_price_per_m",
        "output_price_per_m",
        "context_window",
        "token_limit_parameter",
        "reasoning_effort",
        "enabled",
        "breaker",
        "refused",
    ]
    list_filter = ["provider", "enabled", "supports_json_mode", "token_limit_parameter"]
    list_select_related = ["provider"]
    search_fields = ["slug", "display_name"]
    readonly_fields = ["breaker", "refused_request"]
    actions = ["test_selected_models"]
    fieldsets = [
        (None, {"fields": ["slug", "provider", "display_name", "enabled"]}),
        (
            "Prices per 1M tokens",
            {"fields": ["input_price_per_m", "cached_input_price_per_m", "output_price_per_m"]},
        ),
        (
            "Capability profile: the request shape this model accepts",
            {
                "fields": [
                    "context_window",
                    "token_limit_parameter",
                    "accepts_temperature",
                    "reasoning_effort",
                    "reasoning_token_allowance",
                    "supports_json_mode",
                    "stream_usage",
                ]
            },
        ),
        ("Health", {"fields": ["breaker", "refused_request"]}),
    ]

    @admin.display(description="circuit breaker")
    def breaker(self, model: LLMModel) -> str:
        """State, why, and until when: read from the shared cache every process uses."""
        return breaker_summary(model)

    @admin.display(description="refused by provider")
    def refused(self, model: LLMModel) -> str:
        return "REFUSED: fix the profile" if model.rejected_at else ""

    def save_model(self, request: HttpRequest, obj: LLMModel, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not obj.enabled:
            tasks = [str(e.task) for e in obj.pool_entries.select_related("task__router")]
            if tasks:
                self.message_user(
                    request,
                    f"{obj.slug} is disabled: the routers skip it in the pools of {', '.join(tasks)} "
                    "(the next model serves) until it is enabled again.",
                    level=messages.WARNING,
                )

    @admin.display(description="request refused by the provider")
    def refused_request(self, model: LLMModel) -> str:
        """The provider's own message for the last request it refused, until the model is edited."""
        if not model.rejected_at:
            return "none"
        shapes = "; ".join(model.rejected_request_shape.splitlines())
        return (
            f"{model.rejected_message} (requests with {shapes}, "
            f"{model.rejected_at:%Y-%m-%d %H:%M} UTC). Requests of this shape are skipped until you save "
            "this model: fix its profile, save, then test it."
        )

    @admin.action(description="Test selected models (one tiny real request per task it serves)")
    def test_selected_models(self, request: HttpRequest, queryset: QuerySet[LLMModel]) -> None:
        rows = models_check(model_ids=list(queryset.values_list("pk", flat=True)))
        if not rows:
            self.message_user(
                request,
                "None of the selected models is in an enabled router's pool or fallbacks.",
                messages.WARNING,
            )
            return
        for row in rows:
            what = f"Probe of {row.model} on {row.router}/{row.task}"
            if row.ok:
                detail = (
                    f"{what}: answered{' and parsed' if row.parsed else ''} in {row.latency_ms} ms, "
                    f"{row.prompt_tokens} in / {row.completion_tokens} out "
                    f"({row.reasoning_tokens} reasoning, {row.cached_tokens} cached), ${row.cost:.6f}"
                )
                self.message_user(request, detail, messages.SUCCESS)
            else:
                self.message_user(
                    request, f"{what}: FAILED: {row.error or 'no usable answer'}", messages.ERROR
                )
        self.message_user(
            request, f"Total cost of these probes: ${probes_total_cost(rows):.6f}", messages.INFO
        )


class PoolFormSet(forms.BaseInlineFormSet):
    """Counts the pool as it will be after this save, so the 3-model limit is one clear error."""

    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        form.instance.pool_size_checked_by_formset = True  # the formset counts deletions too

    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("model")
        ]
        if len(kept) > MAX_POOL_SIZE:
            raise ValidationError(
                f"A task's pool holds at most {MAX_POOL_SIZE} models; this form has {len(kept)}. "
                "Remove one before adding another."
            )


class PoolEntryInline(admin.TabularInline):
    model = PoolEntry
    formset = PoolFormSet
    extra = 1
    max_num = MAX_POOL_SIZE
    autocomplete_fields = ["model"]


class RouterTaskInline(admin.StackedInline):
    model = RouterTask
    extra = 0
    show_change_link = True
    fields = [
        "name",
        "description",
        "selection_policy",
        "example_utterances",
        "system_prompt",
        ("expected_input_tokens", "expected_output_tokens", "first_token_timeout_seconds"),
        ("shadow_model", "shadow_sample_rate"),
    ]


class FallbackEntryInline(admin.TabularInline):
    model = FallbackEntry
    extra = 1
    autocomplete_fields = ["model"]


@admin.register(Router)
class RouterAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "escalation_threshold", "masking", "task_count", "enabled"]
    search_fields = ["name"]
    inlines = [RouterTaskInline, FallbackEntryInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Router]:
        from django.db.models import Count

        return super().get_queryset(request).annotate(task_total=Count("tasks"))

    @admin.display(description="tasks", ordering="task_total")
    def task_count(self, router: Router) -> int:
        return router.task_total  # type: ignore[attr-defined]


@admin.register(RouterTask)
class RouterTaskAdmin(admin.ModelAdmin):
    list_display = ["name", "router", "selection_policy", "pool_models"]
    list_filter = ["router", "selection_policy"]
    list_select_related = ["router"]
    search_fields = ["name", "description"]
    inlines = [PoolEntryInline]
    readonly_fields = ["calibration_recommendation"]
    actions = ["apply_recommended_threshold"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RouterTask]:
        return super().get_queryset(request).prefetch_related("pool__model")

    @admin.display(description="pool")
    def pool_models(self, task: RouterTask) -> str:
        return ", ".join(entry.model.slug for entry in task.pool.all())

    @admin.display(description="calibration (recommended cascade threshold)")
    def calibration_recommendation(self, task: RouterTask) -> str:
        """What ``manage.py evaluate --calibrate`` last found for this task."""
        from triage.services.evaluation import calibration_summary

        return calibration_summary(task.calibration) or (
            "Not calibrated: run manage.py evaluate --router <router> --task <task> --calibrate "
            "--target strong:0.95, then apply it with the action on the task list."
        )

    @admin.action(description="Apply the recommended cascade threshold")
    def apply_recommended_threshold(self, request: HttpRequest, queryset: QuerySet[RouterTask]) -> None:
        """Set each task's cascade threshold from its calibration (and turn the cascade on)."""
        from decimal import Decimal

        applied, skipped = [], []
        for task in queryset:
            calibration = task.calibration or {}
            threshold = calibration.get("threshold")
            if (
                isinstance(threshold, bool)
                or not isinstance(threshold, int | float)
                or not 0 <= threshold <= 1
            ):
                skipped.append(str(task))
                continue
            task.cascade_confidence_threshold = Decimal(f"{threshold:.3f}")
            task.cascade_enabled = True
            fields = ["cascade_confidence_threshold", "cascade_enabled"]
            if isinstance(calibration.get("local_disagreement"), bool):
                task.cascade_on_local_disagreement = calibration["local_disagreement"]
                fields.append("cascade_on_local_disagreement")
            task.save(update_fields=fields)  # its signal publishes the change to every process
            self.log_change(
                request,
                task,
                f"Applied the recommended cascade threshold {task.cascade_confidence_threshold} "
                f"(target {calibration.get('target')}, calibrated {calibration.get('at')}); cascade on.",
            )
            applied.append(f"{task} → {task.cascade_confidence_threshold}")
        if applied:
            self.message_user(request, f"Cascade threshold applied: {', '.join(applied)}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"No recommended threshold for {', '.join(skipped)}: run manage.py evaluate --calibrate "
                "first (or no threshold met its target).",
                messages.WARNING,
            )


STEP_FIELDS = ("task_name", "is_current", "status", "served_by", "latency_ms", "cost", "skip_reason", "error")


class TriageStepInline(admin.TabularInline):
    model = TriageStep
    extra = 0
    can_delete = False
    fields = STEP_FIELDS
    readonly_fields = STEP_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TicketMessageInline(admin.TabularInline):
    model = TicketMessage
    extra = 0
    can_delete = False
    fields = ["received_at", "sender_email", "subject", "message_id", "attachments"]
    readonly_fields = ["received_at", "sender_email", "subject", "message_id", "attachments"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "subject", "status", "customer_tier", "language", "channel", "router", "created_at"]
    list_filter = ["status", "channel", "customer_tier", "language", "router"]
    list_select_related = ["router"]
    search_fields = ["=id", "subject", "account_id", "=external_id", "customer_email"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    # What triage and agents set is read here, not edited: category and urgency are corrected on the
    # ticket page (kept as feedback with the model that got them wrong), status belongs to the runs.
    readonly_fields = [
        "status",
        "category",
        "urgency_score",
        "escalated",
        "attention_reason",
        "triage_runs",
        "run_id",
        "lease_expires_at",
        "created_at",
        "updated_at",
        "triaged_at",
        "language",
        "idempotency_key",
        "idempotency_fingerprint",
        "connector",
        "external_id",
    ]
    inlines = [TriageStepInline, TicketMessageInline]
    actions = ["retriage_all_steps"]

    @admin.action(description="Re-triage selected tickets (all steps; earlier results are kept)")
    def retriage_all_steps(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        from triage.pipeline.triage import ticket_retriage

        for ticket in queryset:
            ticket_retriage(ticket=ticket)
        self.message_user(request, f"Re-triaging {queryset.count()} tickets.")


@admin.register(ModelCall)
class ModelCallAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "router",
        "task_name",
        "model_slug",
        "outcome",
        "latency_ms",
        "prompt_tokens",
        "completion_tokens",
        "tokens_estimated",
        "cost",
        "ticket_id",
    ]
    list_filter = ["outcome", "router", "task_name", "model", "started_at"]
    list_select_related = ["router"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        initial=list(DEFAULT_SCOPES),
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may call. Give a key only what its program needs.",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "rate_limit_per_minute"]


ISSUED_KEY_ATTR = "_triage_issued_api_key"


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued here or by ``manage.py create_api_key``. The raw key is shown once, on the
    page answering the add form (never through messages, which travel in a cookie)."""

    form = ApiKeyForm
    list_display = ["name", "lookup", "scope_list", "rate_limit_per_minute", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    readonly_fields = ["lookup", "created_at", "revoked_at"]
    actions = ["revoke_keys"]

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes or [])

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued, raw = ApiKey.issue(
            name=obj.name, rate_limit_per_minute=obj.rate_limit_per_minute, scopes=obj.scopes
        )
        obj.pk, obj.lookup, obj.hashed_key = issued.pk, issued.lookup, issued.hashed_key
        obj.created_at = issued.created_at
        setattr(request, ISSUED_KEY_ATTR, raw)  # for response_add, in this request only

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None) -> Any:
        raw = getattr(request, ISSUED_KEY_ATTR, None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"New API key for {obj.name}",
            "key": obj,
            "raw_key": raw,
        }
        response = TemplateResponse(request, "admin/triage/apikey/issued.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoke()
            self.log_change(request, key, "Revoked the key.")
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key{'s' if revoked != 1 else ''}.")


@admin.register(LogEntry)
class AuditLogAdmin(admin.ModelAdmin):
    """Who changed what in the admin, and when (routers, tasks and their pools included). Read-only."""

    list_display = ["action_time", "user", "content_type", "object_repr", "action_flag", "change_summary"]
    list_filter = ["action_flag", "content_type", "user"]
    list_select_related = ["user", "content_type"]
    search_fields = ["object_repr", "change_message"]
    date_hierarchy = "action_time"
    show_full_result_count = False

    @admin.display(description="change")
    def change_summary(self, entry: LogEntry) -> str:
        return entry.get_change_message()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by agents' actions on the pages; the admin only reads them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "ticket_id", "task_name", "kind", "field", "old_value", "new_value",
                    "model_slug"]  # fmt: skip
    list_filter = ["kind", "task_name", "model_slug", "created_at"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(ApprovedReply)
class ApprovedReplyAdmin(ReadOnlyAdmin):
    list_display = ["approved_at", "approved_by", "ticket_id", "draft_model", "edited"]
    list_filter = ["edited", "draft_model"]
    list_select_related = ["approved_by"]
    show_full_result_count = False


@admin.register(PlaygroundRun)
class PlaygroundRunAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "router", "task_name"]
    list_select_related = ["user", "router"]
    show_full_result_count = False


@admin.register(ShadowComparison)
class ShadowComparisonAdmin(ReadOnlyAdmin):
    """Written by the worker's shadow comparisons (services/shadow.py); their cost is counted apart."""

    list_display = ["created_at", "ticket_id", "task_name", "primary_model", "shadow_model", "agreed", "cost"]
    list_filter = ["task_name", "shadow_model", "primary_model", "agreed", "created_at"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 100


def _accuracies(figures: dict[str, Any]) -> str:
    def percent(key: str) -> str:
        value = figures.get(key)
        return "n/a" if value is None else f"{value:.1%}"

    return f"category {percent('category')}, urgency {percent('urgency')} (±1 {percent('urgency_within_1')})"


@admin.register(LocalModelTraining)
class LocalModelTrainingAdmin(ReadOnlyAdmin):
    """Written by `manage.py retrain_local` and the weekly beat job (services/retrain.py)."""

    list_display = ["started_at", "examples", "before_accuracy", "after_accuracy", "adopted"]
    list_filter = ["adopted", "started_at"]
    readonly_fields = ["started_at", "finished_at", "shipped_examples", "agent_examples", "before",
                       "after", "adopted", "note"]  # fmt: skip
    show_full_result_count = False

    @admin.display(description="examples")
    def examples(self, run: LocalModelTraining) -> str:
        return f"{run.shipped_examples} shipped + {run.agent_examples} agent"

    @admin.display(description="before (held back)")
    def before_accuracy(self, run: LocalModelTraining) -> str:
        return _accuracies(run.before or {})

    @admin.display(description="after (held back)")
    def after_accuracy(self, run: LocalModelTraining) -> str:
        return _accuracies(run.after or {})


# connectors, webhooks and the delivery log register themselves
from triage.connectors import admin as _connectors_admin  # noqa: E402, F401
from triage.routing import budget_admin as _budget_admin  # noqa: E402, F401
