"""Model aliases (which provider models serve a name), outbound quotas, and prompt templates with versions.

Callers never name a raw provider model: they name a project's ``ModelAlias`` ("support-chat"),
and the alias lists the provider models (``AliasEndpoint`` → ``governance.ModelEndpoint``) that
may serve it, in priority order with weights. Prompts are ``PromptTemplate`` rows whose text
lives in numbered, immutable ``PromptVersion`` rows, so every decision can name the exact
text it was made with. Edits are kept by django-simple-history.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from governance.models import ModelEndpoint, Project
from orchestration.engine import prompts as prompt_engine

MAX_TOKENS_CAP = 200_000
MAX_QUOTA_WAIT_S = 30.0


class ModelAlias(models.Model):
    """A project's name for a model, served by one or more provider models (its endpoints).

    ``max_tokens`` is the default output bound of a call (a caller may ask for less, or more
    up to the serving model's ``max_output_tokens``); it is also what the budget hold assumes.
    ``connect_timeout_s``/``read_timeout_s`` override the provider's when set (a chat alias
    answering users wants a shorter read timeout than a batch one).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_aliases")
    name = models.SlugField(max_length=100, help_text="What callers pass as alias=, e.g. support-chat.")
    description = models.CharField(max_length=300, blank=True)
    max_tokens = models.PositiveIntegerField(
        default=1024, validators=[MinValueValidator(1), MaxValueValidator(MAX_TOKENS_CAP)]
    )
    connect_timeout_s = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.1), MaxValueValidator(60.0)]
    )
    read_timeout_s = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.1), MaxValueValidator(600.0)]
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "model alias"
        verbose_name_plural = "model aliases"
        ordering = ["project__slug", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="model_alias_unique_name")]

    def __str__(self) -> str:
        return f"{self.project.slug}/{self.name}"


class AliasEndpoint(models.Model):
    """One provider model behind an alias.

    Calls go to the lowest ``priority`` first, spread by ``weight`` among the endpoints of that
    priority; the next priority is the fallback when they are all open-breakered or failing.
    """

    alias = models.ForeignKey(ModelAlias, on_delete=models.CASCADE, related_name="endpoints")
    model = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="alias_endpoints")
    priority = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="1 is tried first."
    )
    weight = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Share of traffic among the endpoints of the same priority.",
    )
    enabled = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "alias endpoint"
        ordering = ["alias", "priority", "id"]
        constraints = [models.UniqueConstraint(fields=["alias", "model"], name="alias_endpoint_unique_model")]

    def __str__(self) -> str:
        return f"{self.alias.name} → {self.model} (p{self.priority}, w{self.weight})"


class EndpointQuota(models.Model):
    """Outbound limits of one provider model, shared by every process, project and alias.

    Providers limit requests and tokens per minute per account and model; exceeding them
    earns 429s. A call waits up to ``max_wait_s`` for capacity (or the caller's own bound,
    whichever is smaller), then falls back to the alias's next endpoint or fails with
    ``rate_limited``. Empty limits are not enforced.
    """

    endpoint = models.OneToOneField(ModelEndpoint, on_delete=models.CASCADE, related_name="quota")
    requests_per_minute = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(10_000_000)]
    )
    tokens_per_minute = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(2_000_000_000)]
    )
    max_wait_s = models.FloatField(
        default=2.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(MAX_QUOTA_WAIT_S)],
        help_text="How long a call may wait for capacity before it falls back or fails with rate_limited.",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "endpoint quota"
        ordering = ["endpoint__provider__name", "endpoint__name"]

    def __str__(self) -> str:
        rpm = self.requests_per_minute or "∞"
        tpm = self.tokens_per_minute or "∞"
        return f"{self.endpoint}: {rpm} req/min, {tpm} tok/min"

    def clean(self) -> None:
        if self.requests_per_minute is None and self.tokens_per_minute is None:
            raise ValidationError("Set a requests-per-minute or a tokens-per-minute limit (or delete the quota).")


class PromptTemplate(models.Model):
    """A project's named prompt. Its text lives in ``PromptVersion`` rows; ``current_version``
    is what a caller gets when it does not pin a version ("float")."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompt_templates")
    name = models.SlugField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    current_version = models.PositiveIntegerField(
        default=0, help_text="The version callers get unless they pin one (0: no version yet)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "prompt template"
        ordering = ["project__slug", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="prompt_template_unique_name")]

    def __str__(self) -> str:
        return f"{self.project.slug}/{self.name} v{self.current_version}"


class PromptVersion(models.Model):
    """One immutable text of a prompt: a list of ``{"role", "template"}`` messages in Jinja2's
    sandboxed syntax, with the render bounds it was saved with. Written only by
    ``orchestration.services.prompt_version_create``, never edited."""

    template = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    messages = models.JSONField(help_text='[{"role": "system"|"user"|"assistant", "template": "..."}]')
    variables = models.JSONField(default=list, editable=False, help_text="Variables the templates read.")
    digest = models.CharField(max_length=80, editable=False)
    max_rendered_chars = models.PositiveIntegerField(
        default=prompt_engine.DEFAULT_MAX_RENDERED_CHARS,
        validators=[MinValueValidator(1), MaxValueValidator(prompt_engine.HARD_MAX_RENDERED_CHARS)],
    )
    max_iterations = models.PositiveIntegerField(
        default=prompt_engine.DEFAULT_MAX_ITERATIONS,
        validators=[MinValueValidator(1), MaxValueValidator(prompt_engine.HARD_MAX_ITERATIONS)],
    )
    max_render_ms = models.FloatField(
        default=prompt_engine.DEFAULT_MAX_RENDER_MS,
        validators=[MinValueValidator(1.0), MaxValueValidator(prompt_engine.HARD_MAX_RENDER_MS)],
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        verbose_name = "prompt version"
        ordering = ["template", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["template", "version"], name="prompt_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="prompt_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.version}"

    def message_templates(self) -> list[prompt_engine.MessageTemplate]:
        return [prompt_engine.MessageTemplate(str(m["role"]), str(m["template"])) for m in self.messages]

    def limits(self) -> prompt_engine.RenderLimits:
        return prompt_engine.RenderLimits(
            max_rendered_chars=self.max_rendered_chars,
            max_iterations=self.max_iterations,
            max_render_ms=self.max_render_ms,
        )
