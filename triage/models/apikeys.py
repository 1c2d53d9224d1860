"""API keys for programs: shown once when created, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import models
from django.utils import timezone

KEY_PREFIX = "trk_"


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

    @classmethod
    def issue(cls, *, name: str, rate_limit_per_minute: int | None = None) -> tuple[ApiKey, str]:
        """Create a key; returns the row and the raw key, which is never retrievable again."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            name=name,
            lookup=raw[: len(KEY_PREFIX) + 8],
            hashed_key=key_hash(raw),
            rate_limit_per_minute=rate_limit_per_minute,
        )
        return key, raw

    def matches(self, raw_key: str) -> bool:
        return hmac.compare_digest(self.hashed_key, key_hash(raw_key))

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
