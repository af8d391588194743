"""``check``: one text against a published policy, recorded as one decision envelope.

The hot path: one indexed query for the policy's current version, the compiled policy from
the in-process cache (keyed by policy id and version, so a publish invalidates it everywhere
without a message bus), one engine pass, then one envelope. For a project that keeps
content "redacted", the storage redactor's rules are compiled into the policy (a cache entry
of their own), so the same pass yields the redacted text the envelope stores: the engine
runs once per check, and the envelope's enum values (stage, decision) are never redacted.
Guard errors fail open or closed as the rule says, are logged with the trace id, counted, and
alerted on when their rate crosses a threshold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from prometheus_client import Counter, Histogram

from governance import tracing
from governance.choices import AlertKind, AlertSeverity, ContentStorage
from governance.errors import ArbiterError, NotFoundError
from governance.llm import CallContext
from governance.models import ApiKey, DecisionEnvelope, Project
from governance.services.alerts import alert_raise
from governance.services.envelopes import RedactedContent, envelope_append
from guardrails.backends import backends_for
from guardrails.engine import (
    CheckResult,
    CompiledPolicy,
    Decision,
    FailMode,
    PolicySpec,
    RuleSpec,
    Severity,
    TextTooLarge,
    cached_policy,
)
from guardrails.engine import check as engine_check
from guardrails.engine.types import ACTION_DECISION
from guardrails.models import GuardPolicy, GuardPolicyVersion, GuardRuleHitDaily
from guardrails.services.redaction import STORAGE_REDACTION_RULES

__all__ = ["ERROR_RATE_WINDOW_S", "GuardCheck", "check", "check_batch"]

log = structlog.get_logger(__name__)

GUARD_CHECKS = Counter(
    "arbiter_guard_checks_total", "Guard checks by policy, stage and decision", ["policy", "stage", "decision"]
)
GUARD_ERRORS = Counter(
    "arbiter_guard_errors_total",
    "Guard errors by policy, tier, code and fail mode",
    ["policy", "tier", "code", "fail_mode"],
)
GUARD_TIER_SECONDS = Histogram(
    "arbiter_guard_tier_seconds",
    "Time spent per guard tier",
    ["tier"],
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.02, 0.05, 0.2, 1, 3),
)

# Envelope outcome for each engine decision (the envelope schema's vocabulary).
_OUTCOME = {Decision.ALLOW: "allowed", Decision.BLOCK: "blocked", Decision.REDACT: "redacted", Decision.FLAG: "flagged"}
ERROR_RATE_WINDOW_S = 300


def _policy_spec(version: GuardPolicyVersion) -> PolicySpec:
    spec = version.spec
    return PolicySpec(
        id=version.policy_id,
        slug=version.policy.slug,
        version=version.version,
        fail_mode=spec["fail_mode"],
        max_text_chars=spec.get("max_text_chars", 65_536),
        rules=tuple(RuleSpec(**rule) for rule in spec["rules"]),
    )


def _compiled(policy_id: int, version: int, *, redact_for_storage: bool) -> CompiledPolicy:
    def build() -> PolicySpec:
        row = GuardPolicyVersion.objects.select_related("policy").get(policy_id=policy_id, version=version)
        return _policy_spec(row)

    storage_rules = STORAGE_REDACTION_RULES if redact_for_storage else ()
    return cached_policy(policy_id, version, build, storage_rules=storage_rules)


@dataclass(frozen=True)
class GuardCheck:
    """The engine's result plus where it was recorded."""

    result: CheckResult
    policy: GuardPolicy
    envelope: DecisionEnvelope
    trace_id: str


def _policy_for(project: Project, slug: str) -> GuardPolicy:
    policy = GuardPolicy.objects.filter(project=project, slug=slug).only("id", "slug", "version", "project_id").first()
    if policy is None:
        raise NotFoundError(f"Project {project.slug!r} has no guard policy {slug!r}.", code="unknown_policy")
    if policy.version == 0:
        raise ArbiterError("policy_unpublished", f"Policy {slug!r} has no published version yet.", status_code=409)
    return policy


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def check(
    *,
    project: Project,
    policy_slug: str,
    stage: str,
    text: str,
    context: Mapping[str, Any] | None = None,
    api_key: ApiKey | None = None,
) -> GuardCheck:
    """Check one text; record a ``guard_check`` decision envelope; flagged ones go to review.

    Raises ``unknown_policy`` (404), ``policy_unpublished`` (409), ``text_too_large`` (413).
    """
    context = dict(context or {})
    policy = _policy_for(project, policy_slug)
    redact_for_storage = project.content_storage == ContentStorage.REDACTED
    compiled = _compiled(policy.pk, policy.version, redact_for_storage=redact_for_storage)
    trace = tracing.current()
    call_context = CallContext(
        trace_id=trace.trace_id if trace else "",
        span_id=trace.span_id if trace else "",
        project_id=project.pk,
        api_key_id=api_key.pk if api_key else None,
        feature=str(context.get("feature", ""))[:100],
        customer=str(context.get("customer", ""))[:100],
    )
    try:
        result = engine_check(
            compiled,
            text=text,
            stage=stage,
            backends=backends_for(project=project, context=call_context),
            context=context,
        )
    except TextTooLarge as exc:
        raise ArbiterError("text_too_large", str(exc), status_code=413) from exc
    envelope = _record(
        project=project,
        policy=policy,
        stage=stage,
        text=text,
        result=result,
        context=context,
        api_key=api_key,
        redacted=_redacted_content(policy, stage, result) if redact_for_storage else None,
    )
    _count(policy=policy, stage=stage, result=result)
    return GuardCheck(result=result, policy=policy, envelope=envelope, trace_id=envelope.trace_id)


def check_batch(
    *,
    project: Project,
    policy_slug: str,
    stage: str,
    texts: Sequence[str],
    context: Mapping[str, Any] | None = None,
    api_key: ApiKey | None = None,
) -> list[GuardCheck]:
    """Check many texts with one policy version (each gets its own envelope, in one trace)."""
    return [
        check(project=project, policy_slug=policy_slug, stage=stage, text=text, context=context, api_key=api_key)
        for text in texts
    ]


def _record(
    *,
    project: Project,
    policy: GuardPolicy,
    stage: str,
    text: str,
    result: CheckResult,
    context: Mapping[str, Any],
    api_key: ApiKey | None,
    redacted: RedactedContent | None,
) -> DecisionEnvelope:
    failed_closed = _failed_closed(result)
    return envelope_append(
        project=project,
        decision_type="guard_check",
        outcome=_outcome(result, failed_closed=failed_closed),
        actor=_actor(api_key, context),
        input={"stage": stage, "text": text},
        output={"decision": str(result.decision), "text": result.text},
        versions={"policy": {"slug": policy.slug, "version": policy.version, "id": policy.pk}},
        verdicts=_verdicts(result),
        rationale=_rationale(result, failed_closed=failed_closed),
        latency_ms=sum(result.latency_ms.values()),
        risk=_risk(result),
        attributes={
            "guard.stage": stage,
            "guard.decision": str(result.decision),
            "guard.failed_closed": failed_closed,
            "guard.tiers_run": [int(t) for t in result.tiers_run],
            "guard.latency_ms": {str(int(t)): round(ms, 3) for t, ms in result.latency_ms.items()},
            "guard.error_count": len(result.errors),
            "guard.text_sha256": _text_digest(text),
            "feature": context.get("feature"),
            "customer": context.get("customer"),
        },
        redacted=redacted,
    )


def _redacted_content(policy: GuardPolicy, stage: str, result: CheckResult) -> RedactedContent | None:
    """What the envelope stores for a "redacted" project: the engine's stored texts, with the
    stage and decision as they are (enum values are not content)."""
    if result.stored_input is None or result.stored_output is None:
        # A storage rule failed in this pass: the envelope falls back to the registered
        # redactor, which keeps only hashes if it cannot redact either.
        log.warning("guard.storage_redaction_failed", policy=policy.slug, policy_version=policy.version)
        return None
    return RedactedContent(
        input={"stage": stage, "text": result.stored_input},
        output={"decision": str(result.decision), "text": result.stored_output},
    )


def _failed_closed(result: CheckResult) -> bool:
    """The text was blocked because a guard errored under fail-closed, not because a rule matched."""
    if result.decision is not Decision.BLOCK:
        return False
    if any(ACTION_DECISION[hit.action] is Decision.BLOCK for hit in result.hits):
        return False
    return any(error.fail_mode_applied is FailMode.CLOSED for error in result.errors)


def _outcome(result: CheckResult, *, failed_closed: bool) -> str:
    """The envelope outcome: the decision, except that a guard error that decided the result
    (failing open to allow, or closed to block) is ``error``, so an outage never reads as a pass
    or as an attack. ``output.decision`` and ``guard.failed_closed`` keep what the caller was told."""
    if failed_closed or (result.errors and result.decision is Decision.ALLOW):
        return "error"
    return _OUTCOME[result.decision]


def _actor(api_key: ApiKey | None, context: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's actor: strings where it says string, and absent rather than null."""
    actor: dict[str, Any] = {"api_key_id": api_key.pk if api_key else None}
    if api_key is not None:
        actor["service"] = api_key.name[:200]
    end_user = context.get("end_user")
    if end_user is not None and end_user != "":
        actor["end_user"] = str(end_user)[:200]
    return actor


def _verdicts(result: CheckResult) -> list[dict[str, Any]]:
    """One verdict per hit and per guard error, in the schema's shape (``rule``, ``verdict``,
    ``tier``, ``score``, ``reason``) plus the engine's own fields."""
    verdicts: list[dict[str, Any]] = [
        {
            "source": "rule",
            "rule": hit.rule_name,
            "verdict": ACTION_DECISION[hit.action].value,
            "reason": hit.detail,
            **hit.to_dict(),
        }
        for hit in result.hits
    ]
    verdicts += [
        {
            "source": "guard_error",
            "rule": error.rule_name,
            "verdict": Decision.BLOCK.value if error.fail_mode_applied is FailMode.CLOSED else Decision.ALLOW.value,
            "reason": f"{error.error_code}: {error.message}",
            **error.to_dict(),
        }
        for error in result.errors
    ]
    return verdicts


def _rationale(result: CheckResult, *, failed_closed: bool) -> str | None:
    reasons = sorted({f"{h.rule_name}: {h.detail}" for h in result.hits})
    if result.errors:
        how = "failed closed" if failed_closed else "errored"
        reasons += sorted({f"guard {how}: {e.rule_name}: {e.error_code}" for e in result.errors})
    return "; ".join(reasons)[:2000] or None


def _risk(result: CheckResult) -> str | None:
    """The highest severity among the hits (the engine's Severity is declared lowest first)."""
    if not result.hits:
        return None
    order = list(Severity)
    return str(max((h.severity for h in result.hits), key=order.index))


def _count(*, policy: GuardPolicy, stage: str, result: CheckResult) -> None:
    GUARD_CHECKS.labels(policy.slug, stage, str(result.decision)).inc()
    for tier, ms in result.latency_ms.items():
        GUARD_TIER_SECONDS.labels(str(int(tier))).observe(ms / 1000)
    if result.hits:
        _count_hits(result)
    for error in result.errors:
        GUARD_ERRORS.labels(policy.slug, str(int(error.tier)), error.error_code, str(error.fail_mode_applied)).inc()
        log.warning(
            "guard.error",
            policy=policy.slug,
            policy_version=policy.version,
            rule=error.rule_name,
            tier=int(error.tier),
            code=error.error_code,
            fail_mode=str(error.fail_mode_applied),
            message=error.message[:300],
        )
    _track_error_rate(policy=policy, errored=bool(result.errors))


def _count_hits(result: CheckResult) -> None:
    today = date.today()
    for rule_id in {hit.rule_id for hit in result.hits}:
        if not isinstance(rule_id, int):
            continue
        updated = GuardRuleHitDaily.objects.filter(rule_id=rule_id, day=today).update(hits=F("hits") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    GuardRuleHitDaily.objects.create(rule_id=rule_id, day=today, hits=1)
            except IntegrityError:
                GuardRuleHitDaily.objects.filter(rule_id=rule_id, day=today).update(hits=F("hits") + 1)


def _incr(key: str) -> int:
    try:
        return int(cache.incr(key))
    except ValueError:
        cache.add(key, 0, timeout=ERROR_RATE_WINDOW_S * 2)
        return int(cache.incr(key))


def _track_error_rate(*, policy: GuardPolicy, errored: bool) -> None:
    """Alert when the share of checks with guard errors over the window crosses the threshold.

    Counters live in the shared cache (Redis in production), bucketed per window, so all
    workers add up to one rate.
    """
    bucket = int(timezone.now().timestamp()) // ERROR_RATE_WINDOW_S
    base = f"guard:rate:{policy.pk}:{bucket}"
    checks = _incr(f"{base}:checks")
    if not errored:
        return
    errors = _incr(f"{base}:errors")
    threshold = settings.ARBITER_GUARD_ERROR_RATE_ALERT
    if checks >= settings.ARBITER_GUARD_ERROR_RATE_MIN_CHECKS and errors / checks >= threshold:
        alert_raise(
            kind=AlertKind.GUARD_ERROR_RATE,
            subject=f"guard_policy:{policy.project_id}:{policy.slug}",
            severity=AlertSeverity.CRITICAL,
            project=policy.project,
            message=(
                f"Guard policy {policy.slug!r}: {errors} of {checks} checks hit guard errors in the last "
                f"{ERROR_RATE_WINDOW_S // 60} minutes; failing open or closed per rule."
            ),
            payload={"policy": policy.slug, "version": policy.version, "errors": errors, "checks": checks},
        )
