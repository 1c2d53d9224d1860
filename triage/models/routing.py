"""Routing configuration that admins edit: providers, the model catalog, routers, tasks, pools.

Keys never live here: a provider stores the *name* of the environment variable holding its key.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

MAX_POOL_SIZE = 3
DEFAULT_CATEGORIES = ["billing", "bug", "how-to", "account", "feature-request", "other"]

_ENV_NAME = RegexValidator(
    r"^[A-Za-z_][A-Za-z0-9_]*$", "Enter the name of an environment variable, e.g. OPENAI_API_KEY."
)
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PRICE = [MinValueValidator(Decimal("0"), "Prices can't be negative.")]


def default_categories() -> list[str]:
    return list(DEFAULT_CATEGORIES)


def provider_kind_choices() -> list[tuple[str, str]]:
    """Every registered provider adapter (a new kind is a module and a registry line, no migration)."""
    from triage.routing.adapters import provider_kind_choices as choices

    return choices()


def selection_policy_choices() -> list[tuple[str, str]]:
    """Every registered selection policy."""
    from triage.routing.policies import policy_choices

    return policy_choices()


class Provider(models.Model):
    class Kind:
        """The built-in kinds (``triage/routing/adapters/``)."""

        OPENAI_COMPATIBLE = "openai"
        LOCAL = "local"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=provider_kind_choices, default=Kind.OPENAI_COMPATIBLE)
    base_url = models.URLField(
        blank=True, help_text="Base URL of the OpenAI-compatible API, e.g. https://api.openai.com/v1"
    )
    api_key_env = models.CharField(
        "API key variable",
        max_length=100,
        blank=True,
        validators=[_ENV_NAME],
        help_text="Name of the environment variable that holds the key (never the key itself). "
        "Leave empty for servers that need no key (e.g. a local vLLM or Ollama).",
    )
    timeout_seconds = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("30"),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("600"))],
        help_text="Per-attempt request timeout.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """An edit of the provider (its URL, its key) may be what fixes a refusal: its models' recorded
        refusals are cleared, so the next request shows whether it did."""
        super().save(*args, **kwargs)
        LLMModel.objects.filter(provider=self, rejected_at__isnull=False).update(
            rejected_request_shape="", rejected_message="", rejected_at=None
        )

    def key_is_set(self) -> bool:
        """True when the provider can authenticate: keyless, or its (allowed) variable is non-empty."""
        if not self.api_key_env:
            return True
        return key_env_allowed(self.api_key_env) and bool(os.environ.get(self.api_key_env))

    def clean(self) -> None:
        if self.kind == self.Kind.OPENAI_COMPATIBLE and not self.base_url:
            raise ValidationError({"base_url": "An OpenAI-compatible provider needs a base URL."})
        check_web_url("base_url", self.base_url)
        if self.api_key_env and not key_env_allowed(self.api_key_env):
            allowed = ", ".join(settings.TRIAGE_PROVIDER_KEY_ENVS) or "none"
            raise ValidationError(
                {
                    "api_key_env": f"{self.api_key_env} is not an allowed key variable (allowed: {allowed}). "
                    "The server's operator adds names to TRIAGE_PROVIDER_KEY_ENVS."
                }
            )


def check_web_url(field: str, url: str) -> None:
    """Requests go over HTTP: an ftp:// or mailto: address (which URLField lets through) fails every call."""
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValidationError({field: "Give an http:// or https:// address."})


def key_env_allowed(name: str) -> bool:
    """Whether a provider may read this environment variable as its API key (TRIAGE_PROVIDER_KEY_ENVS)."""
    return name in settings.TRIAGE_PROVIDER_KEY_ENVS


class TokenLimitParameter(models.TextChoices):
    MAX_TOKENS = "max_tokens", "max_tokens (most chat models)"
    MAX_COMPLETION_TOKENS = "max_completion_tokens", "max_completion_tokens (OpenAI reasoning models)"


class ReasoningEffort(models.TextChoices):
    NONE = "", "Don't send (not a reasoning model)"
    MINIMAL = "minimal", "minimal"
    LOW = "low", "low"
    MEDIUM = "medium", "medium"
    HIGH = "high", "high"


class LLMModel(models.Model):
    """One entry of the catalog: a model as its provider names it, with its prices and its
    *capability profile*: the request shape it accepts, which the provider adapters follow."""

    slug = models.CharField(max_length=120, help_text="The model name as the provider spells it.")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="models")
    display_name = models.CharField(max_length=120, blank=True)
    input_price_per_m = models.DecimalField(
        "input $ / 1M tokens", max_digits=12, decimal_places=6, default=Decimal("0"), validators=_PRICE
    )
    output_price_per_m = models.DecimalField(
        "output $ / 1M tokens", max_digits=12, decimal_places=6, default=Decimal("0"), validators=_PRICE
    )
    cached_input_price_per_m = models.DecimalField(
        "cached input $ / 1M tokens",
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        validators=_PRICE,
        help_text="Price of prompt tokens read from the provider's prompt cache "
        "(usage.prompt_tokens_details.cached_tokens). Empty: the input price.",
    )
    context_window = models.PositiveIntegerField(
        default=128_000,
        help_text="Prompt + answer budget in tokens. A prompt that doesn't fit skips the model "
        "(outcome context_too_long) without a call.",
    )
    supports_json_mode = models.BooleanField("supports JSON mode", default=False)
    # --- capability profile: the request shape this model accepts -----------------------------
    token_limit_parameter = models.CharField(
        max_length=24,
        choices=TokenLimitParameter.choices,
        default=TokenLimitParameter.MAX_TOKENS,
        help_text="The parameter that caps the answer. OpenAI's reasoning models refuse max_tokens.",
    )
    accepts_temperature = models.BooleanField(
        default=True,
        help_text="Send the subtask's temperature. OpenAI's reasoning models refuse any value but 1.",
    )
    reasoning_effort = models.CharField(
        max_length=8,
        choices=ReasoningEffort.choices,
        default=ReasoningEffort.NONE,
        blank=True,
        help_text="reasoning_effort to send (a pool entry can override it per task).",
    )
    reasoning_token_allowance = models.PositiveIntegerField(
        default=0,
        help_text="Tokens a reasoning model may think before answering, added to each subtask's "
        "answer budget (reasoning tokens are spent from the same limit and billed as output).",
    )
    stream_usage = models.BooleanField(
        "streams report usage",
        default=True,
        help_text="Ask for usage in streams (stream_options.include_usage). Off: tokens are estimated.",
    )
    enabled = models.BooleanField(default=True)
    # --- written by the router when the provider refused our request (a configuration error) ---
    # the request shapes the provider refused, one per line
    rejected_request_shape = models.TextField(blank=True, editable=False)
    rejected_message = models.TextField(blank=True, editable=False)
    rejected_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["slug"]
        verbose_name = "model"
        constraints = [
            models.UniqueConstraint(fields=["provider", "slug"], name="unique_model_slug_per_provider"),
            models.CheckConstraint(
                condition=models.Q(input_price_per_m__gte=0) & models.Q(output_price_per_m__gte=0),
                name="model_prices_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args: Any, **kwargs: Any) -> None:
        """An edit of the model (its profile, say) clears a recorded refusal: the next request is
        sent again and shows whether the edit fixed it."""
        if not kwargs.get("update_fields"):
            self.rejected_request_shape, self.rejected_message, self.rejected_at = "", "", None
        super().save(*args, **kwargs)

    @property
    def is_usable(self) -> bool:
        return self.enabled and self.provider.enabled

    def clean(self) -> None:
        if self.provider_id and self.provider.kind == Provider.Kind.LOCAL:
            from triage.local_models.registry import get_local_model

            if get_local_model(self.slug) is None:
                raise ValidationError(
                    {
                        "slug": f"No built-in local model is called {self.slug!r}: a local provider "
                        "serves only those."
                    }
                )
        if self.context_window is not None and self.context_window < 256:
            raise ValidationError(
                {
                    "context_window": "At least 256 tokens: below that no prompt fits, and every call "
                    "would be skipped."
                }
            )


def validate_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{name!r} is not a known time zone (e.g. UTC, Europe/Berlin).") from None


class Router(models.Model):
    class Encoder(models.TextChoices):
        TFIDF = "tfidf", "TF-IDF n-grams (built in)"
        MINILM = "minilm", "Sentence embeddings (all-MiniLM-L6-v2, optional)"

    name = models.SlugField(max_length=100, unique=True, help_text="Addressed as router:<name>.")
    description = models.TextField(blank=True)
    escalation_threshold = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Urgency score (1-5) at or above which the escalation brief runs.",
    )
    classifier_confidence_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.35"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Requests whose best task scores below this go to the fallback models.",
    )
    classifier_encoder = models.CharField(max_length=16, choices=Encoder.choices, default=Encoder.TFIDF)
    categories = models.JSONField(
        default=default_categories, help_text='Ticket categories, e.g. ["billing", "bug"].'
    )
    affinity_ttl_seconds = models.PositiveIntegerField(
        default=3600, help_text="How long an affinity key stays pinned to its model."
    )
    # settings.py checks TRIAGE_TASK_SOFT_TIME_LIMIT against this field's maximum (900 s)
    request_deadline_seconds = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("60"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("900"))],
        help_text="Overall deadline for one routed request, across all its attempts.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone (e.g. Europe/Berlin): budgets' days and months roll over at its midnight.",
    )
    masking = models.CharField(
        max_length=32,
        choices=[
            ("off", "Off: send tickets as written"),
            ("mask", "Mask customer data before a remote model sees it"),
            ("local_only_if_sensitive", "Mask, and keep tickets with cards, IBANs or secrets local"),
        ],
        default="off",
        help_text="Emails, phone numbers, card numbers, IBANs, national ids, secrets and URLs with "
        "credentials become placeholders (<EMAIL_1>) for remote models; answers get the real values back.",
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(escalation_threshold__gte=1) & models.Q(escalation_threshold__lte=5),
                name="router_escalation_threshold_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        categories = self.categories
        if not isinstance(categories, list) or not categories:
            raise ValidationError({"categories": "Give a non-empty list of category names."})
        bad = [c for c in categories if not isinstance(c, str) or not _CATEGORY.match(c)]
        if bad:
            raise ValidationError(
                {"categories": f"Categories must be lower-case slugs; not valid: {', '.join(map(str, bad))}."}
            )
        if len(set(categories)) != len(categories):
            raise ValidationError({"categories": "Categories must be unique."})


class RouterTask(models.Model):
    router = models.ForeignKey(Router, on_delete=models.CASCADE, related_name="tasks")
    name = models.SlugField(max_length=100, help_text="e.g. classify_ticket")
    description = models.TextField(help_text="What requests of this task look like: the routing signal.")
    example_utterances = models.TextField(blank=True, help_text="One example request per line.")
    system_prompt = models.TextField(blank=True)
    selection_policy = models.CharField(
        max_length=20, choices=selection_policy_choices, default="manual_ranking"
    )
    expected_input_tokens = models.PositiveIntegerField(default=300)
    expected_output_tokens = models.PositiveIntegerField(default=100)
    first_token_timeout_seconds = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0.1"))],
        help_text="Streaming: fail over when the first token takes longer than this.",
    )
    # --- quality: cascade on doubt, shadow comparisons, calibration ----------------------------
    cascade_enabled = models.BooleanField(
        "cascade on doubt",
        default=False,
        help_text="Ask the next pool model when the first answer is doubtful: its stated confidence is "
        "below the threshold, or it disagrees with the built-in local model. Both calls are billed.",
    )
    cascade_confidence_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.6"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Escalate answers whose stated confidence is below this (0-1).",
    )
    cascade_on_local_disagreement = models.BooleanField(
        "escalate when the local model disagrees",
        default=True,
        help_text="Compare with the free in-process model: a different category, or an urgency 2+ points "
        "apart or (when the local scorer is sure) on the other side of the escalation threshold, "
        "escalates.",
    )
    shadow_model = models.ForeignKey(
        "LLMModel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Answers a sample of this task's requests after the step is done, in the background, "
        "to measure agreement (billed, counted apart, never shown to agents).",
    )
    shadow_sample_rate = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Share of steps the shadow model also answers (e.g. 0.05).",
    )
    # written by `manage.py evaluate --calibrate` / the admin: the recommended threshold and its figures
    calibration = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["router", "id"]
        constraints = [models.UniqueConstraint(fields=["router", "name"], name="unique_task_name_per_router")]

    def __str__(self) -> str:
        return f"{self.router.name}:{self.name}" if self.router_id else self.name

    @property
    def utterances(self) -> list[str]:
        return [line.strip() for line in self.example_utterances.splitlines() if line.strip()]

    def clean(self) -> None:
        from triage.pipeline.subtasks import subtask_names

        if self.name in subtask_names() and not self.system_prompt.strip():
            raise ValidationError(
                {
                    "system_prompt": "A triage step needs its instructions: without them the model "
                    "gets only the ticket."
                }
            )
        if self.shadow_model is not None and _model_changed(self, "shadow_model_id"):
            _check_model_usable(self.shadow_model, "shadow_model")


def _model_changed(row: models.Model, field: str) -> bool:
    """Whether a row is new or names another model than stored: a model disabled later must not
    block unrelated edits of rows that already name it (the router skips it meanwhile)."""
    if row.pk is None:
        return True
    stored = type(row)._default_manager.filter(pk=row.pk).values_list(field, flat=True).first()
    return bool(stored != getattr(row, field))


def _check_model_usable(model: LLMModel, field: str) -> None:
    if not model.enabled:
        raise ValidationError({field: f"Model {model.slug} is disabled in the catalog."})
    if not model.provider.enabled:
        raise ValidationError({field: f"Model {model.slug}'s provider {model.provider.name} is disabled."})


class PoolEntry(models.Model):
    task = models.ForeignKey(RouterTask, on_delete=models.CASCADE, related_name="pool")
    model = models.ForeignKey(LLMModel, on_delete=models.PROTECT, related_name="pool_entries")
    rank = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    min_urgency = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Tiered pools: serve only tickets with at least this urgency (empty: any ticket).",
    )
    max_urgency = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Tiered pools: serve only tickets with at most this urgency (empty: any ticket).",
    )
    reasoning_effort = models.CharField(
        max_length=8,
        choices=[("", "The model's own setting"), *ReasoningEffort.choices[1:]],
        blank=True,
        default="",
        help_text="Reasoning models: the effort for this task (e.g. minimal for classification).",
    )

    class Meta:
        ordering = ["task", "rank", "id"]
        verbose_name_plural = "pool entries"
        constraints = [models.UniqueConstraint(fields=["task", "model"], name="unique_model_per_pool")]

    def __str__(self) -> str:
        return f"{self.model_id and self.model.slug} (rank {self.rank})"

    def serves_urgency(self, urgency: int | None) -> bool:
        """Whether this tier serves a ticket of the given urgency (unknown urgency: every tier)."""
        if urgency is None:
            return True
        return (self.min_urgency or 1) <= urgency <= (self.max_urgency or 5)

    def clean(self) -> None:
        if self.model_id and _model_changed(self, "model_id"):
            _check_model_usable(self.model, "model")
        if self.min_urgency and self.max_urgency and self.min_urgency > self.max_urgency:
            raise ValidationError({"max_urgency": "The maximum urgency must not be below the minimum."})
        checked = getattr(self, "pool_size_checked_by_formset", False)
        if self.task_id and not self.pk and not checked:
            taken = PoolEntry.objects.filter(task_id=self.task_id).count()
            if taken >= MAX_POOL_SIZE:
                raise ValidationError(f"A task's pool holds at most {MAX_POOL_SIZE} models.")


class FallbackEntry(models.Model):
    router = models.ForeignKey(Router, on_delete=models.CASCADE, related_name="fallbacks")
    model = models.ForeignKey(LLMModel, on_delete=models.PROTECT, related_name="fallback_entries")
    order = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["router", "order", "id"]
        verbose_name_plural = "fallback entries"
        constraints = [models.UniqueConstraint(fields=["router", "model"], name="unique_fallback_per_router")]

    def __str__(self) -> str:
        return f"{self.model_id and self.model.slug} (#{self.order})"

    def clean(self) -> None:
        if self.model_id and _model_changed(self, "model_id"):
            _check_model_usable(self.model, "model")
