"""API keys for programs: shown once when created, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

KEY_PREFIX = "trk_"

# What a key may call: the ticket API (/api/tickets*, /triage, /triage/batch), the routers
# (/api/routers*, /v1 with model "router:<name>") and catalog models called directly through /v1.
SCOPE_TICKETS, SCOPE_ROUTERS, SCOPE_MODELS = "tickets", "routers", "models"
SCOPES = (SCOPE_TICKETS, SCOPE_ROUTERS, SCOPE_MODELS)
SCOPE_CHOICES = [
    (SCOPE_TICKETS, "tickets: /api/tickets, /triage, /triage/batch"),
    (SCOPE_ROUTERS, "routers: /api/routers, /v1 with router:<name>"),
    (SCOPE_MODELS, "models: /v1 calling a catalog model directly"),
]
DEFAULT_SCOPES = (SCOPE_TICKETS,)


def default_scopes() -> list[str]:
    return list(DEFAULT_SCOPES)


def scopes_clean(scopes: object) -> list[str]:
    """The scopes in canonical order; ``ValueError`` naming any unknown one, or none at all."""
    if isinstance(scopes, str) or not isinstance(scopes, list | tuple | set | frozenset):
        raise ValueError("scopes must be a list")
    unknown = sorted({str(s) for s in scopes} - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)} (choose from {', '.join(SCOPES)})")
    if not scopes:
        raise ValueError(f"give at least one scope ({', '.join(SCOPES)})")
    return [s for s in SCOPES if s in scopes]


def validate_scopes(value: object) -> None:
    try:
        scopes_clean(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def key_hash(raw_key: str) -> str:
    # Keys are 32 random bytes, so a fast hash is enough: nobody can brute-force the preimage.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    lookup = models.CharField(max_length=16, unique=True, help_text="The key's first characters, for lookup.")
    hashed_key = models.CharField(max_length=64)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty uses the site default."
    )
    scopes = models.JSONField(
        default=default_scopes,
        validators=[validate_scopes],
        help_text=f"What the key may call: any of {', '.join(SCOPES)}.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.lookup}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def clean(self) -> None:
        if self.rate_limit_per_minute == 0:  # read as "no limit of its own" (the site default)
            raise ValidationError(
                {"rate_limit_per_minute": "At least 1 request a minute; leave it empty for the site default."}
            )

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @classmethod
    def issue(
        cls,
        *,
        name: str,
        rate_limit_per_minute: int | None = None,
        scopes: list[str] | tuple[str, ...] = DEFAULT_SCOPES,
    ) -> tuple[ApiKey, str]:
        """Create a key; returns the row and the raw key, which is never retrievable again.
        ``ValueError`` for an unknown scope."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            name=name,
            lookup=raw[: len(KEY_PREFIX) + 8],
            hashed_key=key_hash(raw),
            rate_limit_per_minute=rate_limit_per_minute,
            scopes=scopes_clean(scopes),
        )
        return key, raw

    def matches(self, raw_key: str) -> bool:
        return hmac.compare_digest(self.hashed_key, key_hash(raw_key))

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
