"""Projects, API keys, model providers and alerts: the tables every other app stands on."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from governance.choices import ALL_SCOPES, AlertKind, AlertSeverity, ContentStorage, ProjectRole, ProviderKind
from governance.secret_env import secret_env_name_error


def _validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone")


def _validate_scopes(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ValidationError("scopes must be a list of strings")
    unknown = sorted(set(value) - set(ALL_SCOPES))
    if unknown:
        raise ValidationError(f"unknown scopes: {', '.join(unknown)}")


class Project(models.Model):
    """A tenant: one team's AI features. Every row an API key can see belongs to one project."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    content_storage = models.CharField(
        max_length=16,
        choices=ContentStorage.choices,
        default=ContentStorage.REDACTED,
        help_text="How prompts and outputs are kept in decision envelopes and spans.",
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Raw inputs/outputs older than this are removed (hashes stay). Empty: keep forever.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[_validate_time_zone],
        help_text="Calendar used for budget periods and daily reports.",
    )
    allow_self_review = models.BooleanField(
        default=False,
        help_text=(
            "Let the API key that recorded a flagged decision (or the user who triggered it) approve, reject or "
            "override it. Off: someone else must decide."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class ProjectMembership(models.Model):
    """A staff user's role in one project: what the admin lets them see and do there.

    A user may hold several roles in a project (an operator who also edits policies); a
    superuser needs none. See ``governance.admin.scoping`` for what each role may do.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ProjectRole.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "project membership"
        ordering = ["project", "user", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "project", "role"], name="membership_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}: {self.get_role_display()}"


class ApiKey(models.Model):
    """A service's credential for one project.

    The secret (``arb_<prefix>_<secret>``) is shown once at creation; only its SHA-256 is
    stored. The short public ``prefix`` finds the row without scanning hashes.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, validators=[_validate_scopes])
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        verbose_name = "API key"
        ordering = ["project", "name"]
        indexes = [models.Index(fields=["project", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.project.slug}/{self.name} ({self.prefix}…)"

    def is_active(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > at

    def has_scopes(self, required: set[str] | frozenset[str]) -> bool:
        return required.issubset(self.scopes)


class Provider(models.Model):
    """A model provider endpoint and how Arbiter calls it (timeouts, retries, breaker).

    The API key is never stored: ``api_key_env`` names the environment variable that holds it.
    """

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    base_url = models.URLField(blank=True, help_text="e.g. https://api.openai.com/v1 (empty for offline)")
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        help_text=(
            "Name of the environment variable holding the key: ARBITER_PROVIDER_… or one listed in "
            "ARBITER_PROVIDER_KEY_ENV_ALLOW (default OPENAI_API_KEY, ANTHROPIC_API_KEY). Never the key itself."
        ),
    )
    enabled = models.BooleanField(default=True)
    connect_timeout_s = models.FloatField(default=5.0, validators=[MinValueValidator(0.1)])
    read_timeout_s = models.FloatField(default=60.0, validators=[MinValueValidator(0.1)])
    max_attempts = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(3)])
    backoff_base_s = models.FloatField(default=0.5, validators=[MinValueValidator(0.0)])
    backoff_max_s = models.FloatField(default=8.0, validators=[MinValueValidator(0.0)])
    retry_budget_ratio = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Retries may be at most this fraction of recent requests, so retries cannot multiply an outage.",
    )
    breaker_window_size = models.PositiveIntegerField(default=20, validators=[MinValueValidator(1)])
    breaker_minimum_calls = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])
    breaker_failure_rate = models.FloatField(default=0.5, validators=[MinValueValidator(0.01), MaxValueValidator(1.0)])
    breaker_slow_call_s = models.FloatField(default=20.0, validators=[MinValueValidator(0.001)])
    breaker_slow_call_rate = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.01), MaxValueValidator(1.0)]
    )
    breaker_wait_in_open_s = models.FloatField(default=30.0, validators=[MinValueValidator(0.0)])
    breaker_half_open_calls = models.PositiveIntegerField(default=3, validators=[MinValueValidator(1)])
    offline_config = models.JSONField(
        default=dict,
        blank=True,
        help_text='Offline simulator only: {"mode": "echo"|"json_verdict"|"fail"|"slow", ...}.',
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (simulated)" if self.is_simulated else self.name

    @property
    def is_simulated(self) -> bool:
        return self.kind == ProviderKind.OFFLINE

    def clean(self) -> None:
        if self.kind != ProviderKind.OFFLINE and not self.base_url:
            raise ValidationError({"base_url": "A network provider needs a base URL."})
        if self.api_key_env:
            error = secret_env_name_error(self.api_key_env)
            if error is not None:
                raise ValidationError({"api_key_env": error})
        if self.backoff_max_s < self.backoff_base_s:
            raise ValidationError({"backoff_max_s": "Must be at least the base backoff."})


class ModelEndpoint(models.Model):
    """A model name served by a provider, as callers refer to it."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=200, help_text="The model name sent to the provider, e.g. gpt-4o-mini.")
    context_window = models.PositiveIntegerField(null=True, blank=True)
    max_output_tokens = models.PositiveIntegerField(default=1024)
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = "model"
        ordering = ["provider__name", "name"]
        constraints = [models.UniqueConstraint(fields=["provider", "name"], name="model_endpoint_unique_name")]

    def __str__(self) -> str:
        return f"{self.provider.name}/{self.name}"


class Alert(models.Model):
    """Something an operator should know about, de-duplicated by kind + subject per period.

    ``dedupe_key`` is ``kind:subject:period`` so concurrent raisers converge on one row.
    """

    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices, default=AlertSeverity.WARNING)
    subject = models.CharField(max_length=300, help_text="What the alert is about, e.g. breaker:openai:gpt-4o.")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    dedupe_key = models.CharField(max_length=400, unique=True, editable=False)
    message = models.CharField(max_length=500)
    payload = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    count = models.PositiveIntegerField(default=1)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["acknowledged_at", "-last_seen_at"])]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.kind}: {self.subject}"
