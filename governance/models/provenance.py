"""Provenance: decision envelopes in a per-project hash chain, spans, and operator reviews.

Envelopes, spans and reviews are append-only. Their querysets refuse ``update()`` and
``delete()`` and their instances refuse a second ``save()`` or a ``delete()``; the only
sanctioned change is the retention sweep blanking raw content (the hashes stay, so the
chain still verifies), done through :meth:`DecisionEnvelopeQuerySet.purge_content`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance.models.core import ApiKey, Project

SCHEMA_VERSION = "1"


class AppendOnlyError(Exception):
    """An attempt to edit or delete an append-only provenance record."""


class DecisionType(models.TextChoices):
    GUARD_CHECK = "guard_check", "Guard check"
    LLM_CALL = "llm_call", "LLM call"
    PIPELINE_STEP = "pipeline_step", "Pipeline step"
    PIPELINE_RUN = "pipeline_run", "Pipeline run"
    EVAL_JUDGMENT = "eval_judgment", "Eval judgment"
    GATEWAY_COMPLETION = "gateway_completion", "Gateway completion"
    REVIEW_OVERRIDE = "review_override", "Review override (corrected output)"
    EXTERNAL = "external", "External (a service's own decision)"


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    BLOCKED = "blocked", "Blocked"
    REDACTED = "redacted", "Redacted"
    FLAGGED = "flagged", "Flagged"
    ERROR = "error", "Error"


class Risk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class StoredContent(models.TextChoices):
    """What an envelope actually keeps of its input/output (may differ from the project setting)."""

    RAW = "raw", "Raw"
    REDACTED = "redacted", "Redacted"
    HASHED = "hashed", "Hash only"


class ReviewState(models.TextChoices):
    """An envelope's review state, derived from its ``Review`` rows (``none``: never needed one)."""

    NONE = "none", "Not for review"
    PENDING = "pending", "Pending"
    ASSIGNED = "assigned", "Assigned"
    ESCALATED = "escalated", "Escalated"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    OVERRIDDEN = "overridden", "Overridden"


OPEN_REVIEW_STATES = frozenset({ReviewState.PENDING, ReviewState.ASSIGNED, ReviewState.ESCALATED})


class ReviewAction(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    OVERRIDE = "override", "Override with a corrected output"
    ESCALATE = "escalate", "Escalate"
    ASSIGN = "assign", "Assign"


class SpanKind(models.TextChoices):
    INTERNAL = "internal", "Internal"
    SERVER = "server", "Server"
    CLIENT = "client", "Client"
    PRODUCER = "producer", "Producer"
    CONSUMER = "consumer", "Consumer"


class SpanStatus(models.TextChoices):
    UNSET = "unset", "Unset"
    OK = "ok", "OK"
    ERROR = "error", "Error"


class SpanSource(models.TextChoices):
    REQUEST = "request", "Arbiter API request"
    MODEL_CALL = "model_call", "Arbiter model call"
    SERVICE = "service", "Arbiter service"
    OTLP = "otlp", "OTLP ingest"


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Refuses bulk edits and deletes: provenance is corrected by appending, never rewritten."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only; append a correction instead")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only and cannot be deleted")

    update.queryset_only = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class AppendOnlyModel(models.Model):
    """A row written once. ``save()`` on an existing row and ``delete()`` raise ``AppendOnlyError``."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only and cannot be deleted")


class DecisionEnvelopeQuerySet(AppendOnlyQuerySet):
    def purge_content(self, *, at: datetime) -> int:
        """Blank raw/redacted input and output (retention). Hashes, and so the chain, are untouched."""
        # The one sanctioned UPDATE: it bypasses AppendOnlyQuerySet.update on purpose.
        return models.QuerySet.update(self, input=None, output=None, content_purged_at=at)


class ChainHead(models.Model):
    """The tip of a project's envelope chain; appends lock this row to serialize per project."""

    project = models.OneToOneField(Project, on_delete=models.PROTECT, primary_key=True, related_name="chain_head")
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.project_id}@{self.last_seq}"


class DecisionEnvelope(AppendOnlyModel):
    """One decision, as recorded by Arbiter or posted by a service (see the JSON Schema).

    ``content_hash`` is the SHA-256 of the canonical JSON of the envelope (see
    ``governance.services.envelopes.canonical_form``), which covers the *hashes* of the input
    and output rather than their text, so retention can drop the text and the chain still
    verifies. ``prev_hash`` is the previous envelope's ``content_hash`` in the same project
    (empty for the first), ``seq`` its position (1, 2, …).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="envelopes")
    seq = models.PositiveBigIntegerField()
    schema_version = models.CharField(max_length=8, default=SCHEMA_VERSION)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    trace_id = models.CharField(max_length=32, db_index=True)
    span_id = models.CharField(max_length=16, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    decision_type = models.CharField(max_length=32, choices=DecisionType.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # Who asked, including ``api_key_id`` for the key that did: inside the hashed content, so it
    # is covered by the ledger (a separate, unhashed key column would not be).
    actor = models.JSONField(default=dict, blank=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    input_hash = models.CharField(max_length=64, blank=True)
    output_hash = models.CharField(max_length=64, blank=True)
    content_storage = models.CharField(max_length=16, choices=StoredContent.choices)
    content_note = models.CharField(max_length=200, blank=True)
    content_purged_at = models.DateTimeField(null=True, blank=True)
    versions = models.JSONField(default=dict, blank=True)
    verdicts = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    rationale = models.TextField(blank=True)
    evidence = models.JSONField(null=True, blank=True)
    cost = models.JSONField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    needs_review = models.BooleanField(default=False)
    risk = models.CharField(max_length=16, choices=Risk.choices, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64, blank=True)

    objects: ClassVar[DecisionEnvelopeQuerySet] = DecisionEnvelopeQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["project", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["project", "seq"], name="envelope_unique_seq_per_project"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="envelope_seq_positive"),
            models.CheckConstraint(
                condition=models.Q(confidence__isnull=True) | models.Q(confidence__gte=0, confidence__lte=1),
                name="envelope_confidence_0_1",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "trace_id"], name="envelope_project_trace"),
            models.Index(fields=["project", "decision_type", "-seq"], name="envelope_project_type"),
            models.Index(fields=["project", "outcome", "-seq"], name="envelope_project_outcome"),
            models.Index(fields=["project", "created_at"], name="envelope_project_created"),
        ]

    def __str__(self) -> str:
        return f"{self.decision_type}/{self.outcome} #{self.seq} ({self.id})"


class Span(AppendOnlyModel):
    """One unit of work in a trace, OpenTelemetry-shaped; GenAI attributes use the semconv names.

    Written by the request middleware (one per API request), by every model call, by
    services, and by OTLP ingest. ``project`` is empty only for Arbiter's own work that no
    project caused (it is then visible in the admin, never through the API).
    """

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="spans")
    trace_id = models.CharField(max_length=32)
    span_id = models.CharField(max_length=16)
    parent_span_id = models.CharField(max_length=16, blank=True)
    name = models.CharField(max_length=300)
    kind = models.CharField(max_length=16, choices=SpanKind.choices, default=SpanKind.INTERNAL)
    source = models.CharField(max_length=16, choices=SpanSource.choices)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    duration_ms = models.FloatField()
    status = models.CharField(max_length=8, choices=SpanStatus.choices, default=SpanStatus.UNSET)
    status_message = models.CharField(max_length=500, blank=True)
    service_name = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    resource = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[AppendOnlyQuerySet] = AppendOnlyQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["trace_id", "start_time"]
        constraints = [
            # OTLP exporters retry; re-sent spans are dropped by this key, not stored twice.
            models.UniqueConstraint(fields=["project", "trace_id", "span_id"], name="span_unique_per_project"),
        ]
        indexes = [
            models.Index(fields=["project", "trace_id"], name="span_project_trace"),
            models.Index(fields=["project", "-start_time"], name="span_project_start"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.trace_id}/{self.span_id}"


class ReviewItem(models.Model):
    """An envelope in the operators' queue. Its ``state`` and ``assignee`` are a projection of
    the envelope's ``Review`` rows, rewritten only by ``review_append`` in the same transaction."""

    envelope = models.OneToOneField(DecisionEnvelope, on_delete=models.PROTECT, related_name="review_item")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="review_items")
    decision_type = models.CharField(max_length=32, choices=DecisionType.choices)
    risk = models.CharField(max_length=16, choices=Risk.choices, blank=True)
    state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.PENDING)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["opened_at"]
        indexes = [models.Index(fields=["state", "opened_at"], name="review_item_queue")]

    def __str__(self) -> str:
        return f"review of {self.envelope_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REVIEW_STATES


class Review(AppendOnlyModel):
    """One operator action on an envelope. Appended, never edited; the history is the record."""

    envelope = models.ForeignKey(DecisionEnvelope, on_delete=models.PROTECT, related_name="reviews")
    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="reviews")
    action = models.CharField(max_length=16, choices=ReviewAction.choices)
    note = models.TextField()
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewer_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewer_label = models.CharField(max_length=200, help_text="Who reviewed, as shown in the record.")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    correction = models.ForeignKey(
        DecisionEnvelope, null=True, blank=True, on_delete=models.PROTECT, related_name="corrects_reviews"
    )
    state_after = models.CharField(max_length=16, choices=ReviewState.choices)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[AppendOnlyQuerySet] = AppendOnlyQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["envelope", "created_at", "id"]
        constraints = [models.CheckConstraint(condition=~models.Q(note=""), name="review_note_required")]

    def __str__(self) -> str:
        return f"{self.action} by {self.reviewer_label} on {self.envelope_id}"
