"""Reads for the guardrails admin."""

from __future__ import annotations

from datetime import date, timedelta

from governance.models import DecisionEnvelope, Project
from guardrails.models import GuardPolicy, GuardRuleHitDaily


def recent_texts(*, project: Project, stage: str | None = None, limit: int = 200) -> list[str]:
    """Texts of recent guard checks that the project keeps readable (raw or redacted), newest first.

    Projects that store only hashes have no recent traffic to preview against: that is the point.
    """
    rows = (
        DecisionEnvelope.objects.filter(
            project=project, decision_type="guard_check", content_storage__in=["raw", "redacted"]
        )
        .order_by("-created_at")
        .values_list("input", flat=True)[: limit * 2]
    )
    texts: list[str] = []
    for value in rows:
        if not isinstance(value, dict):
            continue
        if stage and value.get("stage") not in (stage, None):
            continue
        text = value.get("text")
        if isinstance(text, str) and text:
            texts.append(text)
        if len(texts) >= limit:
            break
    return texts


def rule_hit_counts(*, policy: GuardPolicy, days: int = 7) -> dict[int, dict[date, int]]:
    """Hits per rule of the policy per day, for the last `days` days (today included)."""
    since = date.today() - timedelta(days=days - 1)
    counts: dict[int, dict[date, int]] = {}
    rows = GuardRuleHitDaily.objects.filter(rule__policy=policy, day__gte=since).values("rule_id", "day", "hits")
    for row in rows:
        counts.setdefault(row["rule_id"], {})[row["day"]] = row["hits"]
    return counts
