"""Appending decision envelopes to a project's hash chain, and verifying the chain.

The chain: each envelope's ``content_hash`` is the SHA-256 of :func:`canonical_form`, which
includes ``prev_hash`` (the previous envelope's ``content_hash`` in the project) and ``seq``.
Appends to one project are serialized by locking the project's ``ChainHead`` row
(``SELECT … FOR UPDATE``), so concurrent writers in any number of processes still build one
unbroken chain; appends to different projects do not wait for each other.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import structlog
from django.db import transaction
from django.utils import timezone

from governance import redaction, tracing
from governance.choices import AlertKind, AlertSeverity, ContentStorage
from governance.errors import ArbiterError
from governance.jsonlimits import forbidden_character
from governance.models import ChainHead, DecisionEnvelope, Project, ReviewItem
from governance.models.provenance import DecisionType, Outcome, Risk, StoredContent

log = structlog.get_logger(__name__)

NO_REDACTOR_NOTE = "redaction requested but no redactor is registered: only hashes are kept"
REDACTOR_FAILED_NOTE = "the redactor failed: only hashes are kept"


# Far below Python's recursion limit, and above every API field's bound (jsonlimits): a caller
# inside Arbiter that builds a deeper value gets an ArbiterError, never a RecursionError.
MAX_JSON_DEPTH = 64


def normalise_json(value: Any, _depth: int = 0) -> Any:
    """A JSON value in the form the chain hashes: integral floats become ints (PostgreSQL's
    ``jsonb`` may print ``1e20`` back as an integer). Refused with ``invalid_envelope``: NaN and
    infinity, strings or keys holding NUL (PostgreSQL cannot store it) or a lone surrogate (it
    cannot be encoded as UTF-8, so it cannot be hashed), and nesting deeper than ``MAX_JSON_DEPTH``."""
    if isinstance(value, str):
        _refuse_forbidden_characters(value)
        return value
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ArbiterError("invalid_envelope", "NaN and infinity are not valid JSON numbers.")
        return int(value) if value.is_integer() else value
    if _depth >= MAX_JSON_DEPTH:
        raise ArbiterError("invalid_envelope", f"Envelope values may nest at most {MAX_JSON_DEPTH} levels deep.")
    if isinstance(value, (list, tuple)):
        return [normalise_json(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        for key in value:
            _refuse_forbidden_characters(str(key))
        return {str(k): normalise_json(v, _depth + 1) for k, v in value.items()}
    raise ArbiterError("invalid_envelope", f"Envelope values must be JSON; got {type(value).__name__}.")


def _refuse_forbidden_characters(text: str) -> None:
    found = forbidden_character(text)
    if found is not None:
        raise ArbiterError("invalid_envelope", f"Envelope strings may not contain a {found} character.")


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def sha256_json(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``; empty for ``None``."""
    if value is None:
        return ""
    return hashlib.sha256(canonical_json(normalise_json(value))).hexdigest()


def canonical_form(envelope: DecisionEnvelope) -> dict[str, Any]:
    """What ``content_hash`` covers. Input/output appear only as their hashes, so retention can
    remove the text without breaking the chain. Changing this breaks every existing chain."""
    return {
        "schema_version": envelope.schema_version,
        "id": str(envelope.id),
        "project_id": envelope.project_id,
        "seq": envelope.seq,
        "created_at": envelope.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "trace_id": envelope.trace_id,
        "span_id": envelope.span_id,
        "parent_id": str(envelope.parent_id) if envelope.parent_id else None,
        "decision_type": envelope.decision_type,
        "outcome": envelope.outcome,
        "actor": envelope.actor,
        "input_hash": envelope.input_hash,
        "output_hash": envelope.output_hash,
        "versions": envelope.versions,
        "verdicts": envelope.verdicts,
        "confidence": envelope.confidence,
        "rationale": envelope.rationale,
        "evidence": envelope.evidence,
        "cost": envelope.cost,
        "latency_ms": envelope.latency_ms,
        "needs_review": envelope.needs_review,
        "risk": envelope.risk,
        "attributes": envelope.attributes,
        "prev_hash": envelope.prev_hash,
    }


def compute_content_hash(envelope: DecisionEnvelope) -> str:
    return hashlib.sha256(canonical_json(normalise_json(canonical_form(envelope)))).hexdigest()


@dataclass(frozen=True)
class RedactedContent:
    """Input and output the caller already redacted with the project's redactor (a guard check
    redacts in the same engine pass as it checks); stored as given when the project keeps
    redacted content, instead of running the redactor again."""

    input: Any
    output: Any


def _stored_content(
    project: Project, values: list[Any], redacted: RedactedContent | None = None
) -> tuple[list[Any], str, str]:
    """``(values to store, StoredContent, note)`` for the project's content_storage setting."""
    mode = project.content_storage
    if mode == ContentStorage.RAW:
        return values, StoredContent.RAW, ""
    hashed_only = [None] * len(values)
    if mode == ContentStorage.REDACTED and redacted is not None:
        return [normalise_json(redacted.input), normalise_json(redacted.output)], StoredContent.REDACTED, ""
    if mode == ContentStorage.REDACTED:
        if not redaction.has_redactor():
            return hashed_only, StoredContent.HASHED, NO_REDACTOR_NOTE
        try:
            return [redaction.redact_value(v) for v in values], StoredContent.REDACTED, ""
        except Exception:
            # Never fall back to raw: a project that asked for redaction keeps the hash only.
            log.exception("envelope.redactor_failed", project=project.slug)
            return hashed_only, StoredContent.HASHED, REDACTOR_FAILED_NOTE
    return hashed_only, StoredContent.HASHED, ""


def _lock_chain_head(project: Project) -> ChainHead:
    try:
        return ChainHead.objects.select_for_update().get(project=project)
    except ChainHead.DoesNotExist:
        # First envelope of the project: racing creators converge on one row.
        ChainHead.objects.bulk_create([ChainHead(project=project)], ignore_conflicts=True)
        return ChainHead.objects.select_for_update().get(project=project)


def _choice(value: str | None, choices: type[Any], field: str) -> str:
    if value is None or value == "":
        return ""
    if value not in choices.values:
        message = f"{field} must be one of {', '.join(choices.values)}; got {value!r}."
        raise ArbiterError("invalid_envelope", message, detail={field: value})
    return str(value)


def envelope_append(
    *,
    project: Project,
    decision_type: str,
    outcome: str,
    trace_id: str | None = None,
    span_id: str | None = None,
    parent: DecisionEnvelope | None = None,
    actor: dict[str, Any] | None = None,
    input: Any = None,
    output: Any = None,
    versions: dict[str, Any] | None = None,
    verdicts: list[dict[str, Any]] | None = None,
    confidence: float | None = None,
    rationale: str | None = None,
    evidence: list[Any] | dict[str, Any] | None = None,
    cost: dict[str, Any] | None = None,
    latency_ms: float | None = None,
    needs_review: bool = False,
    risk: str | None = None,
    attributes: dict[str, Any] | None = None,
    redacted: RedactedContent | None = None,
) -> DecisionEnvelope:
    """Append a decision to ``project``'s chain and return it.

    ``trace_id``/``span_id`` default to the current trace context (a new trace and span when
    there is none). Input/output are stored raw, redacted (``redacted`` when the caller already
    did it, else through ``governance.redaction``) or not at all per ``project.content_storage``;
    their hashes (of the raw values) are always kept. Outcome ``flagged`` or
    ``needs_review=True`` opens a review item in the same transaction. Runs in its own
    transaction (a savepoint when nested) and holds the project's chain lock until commit, so
    callers should append late in their own transactions. Raises ``ArbiterError``
    (``invalid_envelope``, ``invalid_parent``).
    """
    decision_type = _choice(decision_type, DecisionType, "decision_type")
    outcome = _choice(outcome, Outcome, "outcome")
    if not decision_type or not outcome:
        raise ArbiterError("invalid_envelope", "decision_type and outcome are required.")
    risk = _choice(risk, Risk, "risk")
    if confidence is not None and not 0.0 <= confidence <= 1.0:
        raise ArbiterError("invalid_envelope", "confidence must be between 0 and 1.", detail={"confidence": confidence})
    if parent is not None and parent.project_id != project.pk:
        raise ArbiterError("invalid_parent", "The parent envelope belongs to another project.")
    ctx = tracing.current()
    input_value, output_value = normalise_json(input), normalise_json(output)
    (stored_input, stored_output), storage, note = _stored_content(project, [input_value, output_value], redacted)
    envelope = DecisionEnvelope(
        id=uuid.uuid4(),
        project=project,
        trace_id=trace_id or (ctx.trace_id if ctx else tracing.new_trace_id()),
        # The schema requires a span id: outside any trace the decision gets a new trace and span.
        span_id=span_id or (ctx.span_id if ctx else tracing.new_span_id()),
        parent=parent,
        decision_type=decision_type,
        outcome=outcome,
        actor=normalise_json(actor or {}),
        input=stored_input,
        output=stored_output,
        input_hash=sha256_json(input_value),
        output_hash=sha256_json(output_value),
        content_storage=storage,
        content_note=note,
        versions=normalise_json(versions or {}),
        verdicts=normalise_json(verdicts or []),
        confidence=confidence,
        rationale=rationale or "",
        evidence=normalise_json(evidence),
        cost=normalise_json(cost),
        latency_ms=latency_ms,
        needs_review=needs_review,
        risk=risk,
        attributes=normalise_json(attributes or {}),
    )
    with transaction.atomic():
        head = _lock_chain_head(project)
        # Taken under the lock so created_at never goes backwards along the chain.
        envelope.created_at = timezone.now()
        envelope.seq = head.last_seq + 1
        envelope.prev_hash = head.last_hash
        envelope.content_hash = compute_content_hash(envelope)
        envelope.save()
        ChainHead.objects.filter(pk=head.pk).update(last_seq=envelope.seq, last_hash=envelope.content_hash)
        if outcome == Outcome.FLAGGED or needs_review:
            ReviewItem.objects.create(
                envelope=envelope,
                project=project,
                decision_type=decision_type,
                risk=risk,
                opened_at=envelope.created_at,
                updated_at=envelope.created_at,
            )
    return envelope


@dataclass(frozen=True)
class LedgerBreak:
    """The first link of a chain that does not verify."""

    seq: int
    envelope_id: str | None
    reason: str


@dataclass(frozen=True)
class LedgerReport:
    project: str
    checked: int
    broken: LedgerBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _verify_project(project: Project) -> LedgerReport:
    expected_prev, expected_seq, checked = "", 1, 0
    envelopes = DecisionEnvelope.objects.filter(project=project).order_by("seq")
    for envelope in envelopes.iterator(chunk_size=2000):
        checked += 1
        where = (envelope.seq, str(envelope.id))
        if envelope.seq != expected_seq:
            return LedgerReport(project.slug, checked, LedgerBreak(*where, f"expected seq {expected_seq}: missing"))
        if envelope.prev_hash != expected_prev:
            reason = "prev_hash does not match the previous envelope's content_hash"
            return LedgerReport(project.slug, checked, LedgerBreak(*where, reason))
        if compute_content_hash(envelope) != envelope.content_hash:
            reason = "content does not match content_hash (changed after it was written)"
            return LedgerReport(project.slug, checked, LedgerBreak(*where, reason))
        if envelope.content_storage == StoredContent.RAW:
            for field in ("input", "output"):
                value = getattr(envelope, field)
                if value is not None and sha256_json(value) != getattr(envelope, f"{field}_hash"):
                    reason = f"stored {field} does not match {field}_hash"
                    return LedgerReport(project.slug, checked, LedgerBreak(*where, reason))
        expected_prev, expected_seq = envelope.content_hash, envelope.seq + 1
    head = ChainHead.objects.filter(project=project).first()
    head_seq, head_hash = (head.last_seq, head.last_hash) if head else (0, "")
    if (head_seq, head_hash) != (expected_seq - 1, expected_prev):
        reason = f"chain head says seq {head_seq} but the last envelope is seq {expected_seq - 1} (rows removed?)"
        return LedgerReport(project.slug, checked, LedgerBreak(expected_seq, None, reason))
    return LedgerReport(project.slug, checked, None)


def ledger_verify(*, project: Project | None = None, alert: bool = True) -> list[LedgerReport]:
    """Walk each project's chain (or one) and report the first broken link per project.

    Read-only, except that a broken chain raises a critical ``ledger_broken`` alert when ``alert``.
    """
    from governance.services.alerts import alert_raise

    projects = [project] if project is not None else list(Project.objects.order_by("slug"))
    reports = [_verify_project(p) for p in projects]
    for p, report in zip(projects, reports, strict=True):
        if alert and report.broken is not None:
            alert_raise(
                kind=AlertKind.LEDGER_BROKEN,
                subject=f"ledger:{p.slug}",
                message=f"Envelope chain broken at seq {report.broken.seq}: {report.broken.reason}",
                severity=AlertSeverity.CRITICAL,
                project=p,
                payload={"seq": report.broken.seq, "envelope_id": report.broken.envelope_id},
            )
    return reports
