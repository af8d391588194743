"""Reads for the guardrails admin."""

from __future__ import annotations

from governance.models import DecisionEnvelope, Project


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
