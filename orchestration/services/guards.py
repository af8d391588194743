"""The input and output guards of a governed call, recorded in the call's own envelope.

A guard check through the API writes its own ``guard_check`` envelope; inside a governed call
the verdicts go into the call's one envelope instead (the call is the decision), so this
module runs the guard policy itself: the published version, compiled and cached by the guard
engine, with the same tier-2/3 backends, hit counters, error metrics and alerts as
``guardrails.services.check`` (its compiled-policy cache and counters are reused here, from
``guardrails.services.checks``, rather than copied).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from governance.llm import CallContext
from governance.models import Project
from guardrails.backends import backends_for
from guardrails.engine import KINDS, CheckResult, Decision, PolicySpec, TextTooLarge, Tier, cached_policy
from guardrails.engine import check as engine_check
from guardrails.models import GuardPolicy, GuardPolicyVersion
from guardrails.services import checks as guard_checks
from orchestration.engine.holdback import Replacement, WindowVerdict
from orchestration.errors import InvalidCallRequest

SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Screening:
    """One stage's guard result and the policy version that produced it."""

    stage: str
    policy: GuardPolicy
    result: CheckResult

    @property
    def decision(self) -> Decision:
        return self.result.decision

    def version(self) -> dict[str, Any]:
        return {"slug": self.policy.slug, "version": self.policy.version, "id": self.policy.pk}

    def verdicts(self) -> list[dict[str, Any]]:
        """Envelope verdicts (the schema's shape: ``verdict`` required); never the matched text."""
        verdicts: list[dict[str, Any]] = [
            {
                "stage": self.stage,
                "policy": self.policy.slug,
                "tier": hit.tier.label,
                "rule": hit.rule_name,
                "verdict": hit.action.value,
                "score": hit.to_dict()["score"],
                "reason": hit.detail,
            }
            for hit in self.result.hits
        ]
        verdicts += [
            {
                "stage": self.stage,
                "policy": self.policy.slug,
                "tier": error.tier.label,
                "rule": error.rule_name,
                "verdict": "error",
                "reason": f"{error.error_code} (fail {error.fail_mode_applied.value})",
            }
            for error in self.result.errors
        ]
        return verdicts

    def reasons(self) -> str:
        return "; ".join(sorted({f"{h.rule_name}: {h.detail}" for h in self.result.hits}))[:500]


def policy_get(*, project: Project, slug: str) -> GuardPolicy:
    """The project's published policy ``slug``; the caller's mistake (``invalid_request``) otherwise."""
    policy = GuardPolicy.objects.filter(project=project, slug=slug).only("id", "slug", "version", "project_id").first()
    if policy is None:
        raise InvalidCallRequest(
            f"Project {project.slug!r} has no guard policy {slug!r}.", detail={"reason": "unknown_policy"}
        )
    if policy.version == 0:
        raise InvalidCallRequest(f"Policy {slug!r} is not published.", detail={"reason": "policy_unpublished"})
    return policy


def screen(
    *, project: Project, policy: GuardPolicy, stage: str, text: str, context: CallContext, feature: str = ""
) -> Screening:
    """Run ``policy`` on ``text`` (all tiers) and count it like a guard check; no envelope."""
    compiled = guard_checks._compiled(policy.pk, policy.version, redact_for_storage=False)
    try:
        result = engine_check(
            compiled,
            text=text,
            stage=stage,
            backends=backends_for(project=project, context=context),
            context={"feature": feature} if feature else {},
        )
    except TextTooLarge as exc:
        raise InvalidCallRequest(str(exc), detail={"reason": "text_too_large", "stage": stage}) from exc
    guard_checks._count(policy=policy, stage=stage, result=result)
    return screening_of(stage, policy, result)


def screening_of(stage: str, policy: GuardPolicy, result: CheckResult) -> Screening:
    return Screening(stage=stage, policy=policy, result=result)


def join_messages(contents: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """One text for one guard pass over every message, and each message's span in it."""
    spans, position = [], 0
    for content in contents:
        spans.append((position, position + len(content)))
        position += len(content) + len(SEPARATOR)
    return SEPARATOR.join(contents), spans


def apply_redactions(contents: Sequence[str], screening: Screening) -> list[str]:
    """Each message with the redactions that fall in it (a redaction spanning two messages is
    applied to the part in each)."""
    _, spans = join_messages(contents)
    out = []
    for content, (begin, end) in zip(contents, spans, strict=True):
        pieces, position = [], begin
        for redaction in screening.result.redactions:
            start, stop = max(redaction.start, begin), min(redaction.end, end)
            if start >= stop or start < position:
                continue
            pieces.append(content[position - begin : start - begin])
            pieces.append(redaction.placeholder)
            position = stop
        pieces.append(content[position - begin :])
        out.append("".join(pieces))
    return out


def stream_screen(policy: GuardPolicy) -> Any:
    """A fast screen for a stream's windows: the policy's tier-1 rules only (deterministic, no
    network), compiled once per policy version. The full policy runs on the whole answer at
    the end of the stream."""
    version = policy.version

    def build() -> PolicySpec:
        row = GuardPolicyVersion.objects.select_related("policy").get(policy_id=policy.pk, version=version)
        spec = guard_checks._policy_spec(row)
        rules = tuple(rule for rule in spec.rules if _tier(rule.kind) is Tier.RULES)
        return PolicySpec(
            id=f"{spec.id}:stream",
            slug=spec.slug,
            version=spec.version,
            fail_mode=spec.fail_mode,
            rules=rules,
            max_text_chars=spec.max_text_chars,
            window_overlap=spec.window_overlap,
        )

    compiled = cached_policy(f"{policy.pk}:stream", version, build)

    def window(text: str) -> WindowVerdict:
        result = engine_check(compiled, text=text, stage="output")
        return WindowVerdict(
            blocked=result.blocked,
            replacements=tuple(Replacement(r.start, r.end, r.placeholder) for r in result.redactions),
            reason="; ".join(sorted({h.rule_name for h in result.hits if h.action.value == "block"})),
        )

    return window


def _tier(kind: str) -> Tier | None:
    registered = KINDS.get(kind)
    return registered.tier if registered is not None else None
