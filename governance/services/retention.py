"""Per-project retention: raw content older than ``Project.retention_days`` is removed.

Only the stored input/output go; their hashes, and so the envelope chain, stay intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.db import transaction
from django.utils import timezone

from governance.models import DecisionEnvelope, Project

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetentionResult:
    project: str
    purged: int


def retention_sweep(*, now: datetime | None = None) -> list[RetentionResult]:
    """Purge expired content in every project that sets ``retention_days``.

    Idempotent (already-purged envelopes are skipped) and safe to run concurrently: the
    purge is one conditional UPDATE per project.
    """
    now = now or timezone.now()
    results = []
    for project in Project.objects.filter(retention_days__isnull=False).order_by("pk"):
        cutoff = now - timedelta(days=project.retention_days or 0)
        with transaction.atomic():
            purged = DecisionEnvelope.objects.filter(
                project=project, created_at__lt=cutoff, content_purged_at__isnull=True
            ).purge_content(at=now)
        if purged:
            log.info("retention.purged", project=project.slug, envelopes=purged, cutoff=cutoff.isoformat())
        results.append(RetentionResult(project.slug, purged))
    return results
