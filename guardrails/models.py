"""Guard policies, their rules, published versions and hit counts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_jsonform.models.fields import JSONField as FormJSONField
from simple_history.models import HistoricalRecords

from governance.models import Project
from guardrails.choices import Action, FailMode, Severity, Stage
from guardrails.engine import KINDS, rule_config_schema, validate_rule


class GuardPolicy(models.Model):
    """A named set of rules a service checks text against (``POST /api/v1/guard/check``).

    ``version`` increases on every published change; each version's exact rule set is kept
    in :class:`GuardPolicyVersion`, so a decision can always be traced to the rules that made it.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guard_policies")
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    fail_mode = models.CharField(
        max_length=8,
        choices=FailMode.choices,
        default=FailMode.OPEN,
        help_text="What a guard error (timeout, open breaker, bad answer) does, unless a rule overrides it.",
    )
    max_text_chars = models.PositiveIntegerField(
        default=65_536, help_text="Longer texts are checked in overlapping windows of this size."
    )
    version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "guard policy"
        verbose_name_plural = "guard policies"
        ordering = ["project__slug", "slug"]
        constraints = [models.UniqueConstraint(fields=["project", "slug"], name="guard_policy_unique_slug")]

    def __str__(self) -> str:
        return f"{self.project.slug}/{self.slug} v{self.version}"


DEFAULT_FORM_KIND = "phrases"


def _config_schema(instance: GuardRule | None = None) -> dict[str, Any]:
    """django-jsonform calls this with the rule being edited: the form follows the rule's kind.
    A fresh copy each time (django-jsonform annotates the schema it is given); an unknown
    kind gets a plain object editor."""
    kind = instance.kind if instance is not None and instance.kind else DEFAULT_FORM_KIND
    return rule_config_schema(kind)


class GuardRule(models.Model):
    """One check in a policy. ``kind`` names a registered rule kind (`guardrails.engine.KINDS`;
    not a ``choices=`` list, so a new kind needs no migration); ``config`` is validated against
    the kind's JSON Schema and, for patterns, by RE2 itself before it is saved."""

    policy = models.ForeignKey(GuardPolicy, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=100)
    stage = models.CharField(max_length=8, choices=Stage.choices, default=Stage.INPUT)
    kind = models.CharField(max_length=32, help_text="A registered rule kind; its tier decides when it runs.")
    config = FormJSONField(schema=_config_schema, default=dict, blank=True)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.BLOCK)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    enabled = models.BooleanField(default=True)
    fail_mode = models.CharField(
        max_length=8, choices=FailMode.choices, blank=True, help_text="Empty: the policy's fail mode."
    )
    position = models.PositiveIntegerField(
        default=0, help_text="Order within a tier (tiers always run cheapest first)."
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["policy", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["policy", "name"], name="guard_rule_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.action})"

    def clean(self) -> None:
        if isinstance(self.config, dict):
            # The admin's JSON editor sends every field of the kind's form; an empty optional
            # field arrives as null or "" and means "not set".
            self.config = {key: value for key, value in self.config.items() if value is not None and value != ""}
        if self.kind not in KINDS:
            known = ", ".join(KINDS.names())
            raise ValidationError({"kind": f"Unknown rule kind {self.kind!r}; expected one of: {known}."})
        errors = validate_rule(self.kind, self.config or {})
        if errors:
            raise ValidationError({"config": errors})
        kind = KINDS.get(self.kind)
        if kind is not None and self.action == Action.REDACT and not kind.has_span:
            raise ValidationError({"action": f"A {self.kind} rule has no span to redact; use block or flag."})


class GuardPolicyVersion(models.Model):
    """The exact rule set of one published policy version (append-only)."""

    policy = models.ForeignKey(GuardPolicy, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    spec = models.JSONField(help_text="fail_mode, max_text_chars and every rule as the engine saw it.")
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["policy", "-version"]
        constraints = [models.UniqueConstraint(fields=["policy", "version"], name="guard_policy_version_unique")]

    def __str__(self) -> str:
        return f"{self.policy} @ v{self.version}"


class GuardRuleHitDaily(models.Model):
    """How often a rule fired per day: what the admin's hit counts read."""

    rule = models.ForeignKey(GuardRule, on_delete=models.CASCADE, related_name="daily_hits")
    day = models.DateField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "rule hits per day"
        verbose_name_plural = "rule hits per day"
        constraints = [models.UniqueConstraint(fields=["rule", "day"], name="guard_rule_hit_daily_unique")]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.day}: {self.hits}"


# The classifier's training data, versions and promotions live in their own module.
from guardrails.classifier_models import (  # noqa: E402
    ClassifierPromotion,
    ClassifierVersion,
    ExampleLabel,
    GuardExample,
    TrainingStatus,
)

__all__ = [
    "ClassifierPromotion",
    "ClassifierVersion",
    "ExampleLabel",
    "GuardExample",
    "GuardPolicy",
    "GuardPolicyVersion",
    "GuardRule",
    "GuardRuleHitDaily",
    "TrainingStatus",
]
