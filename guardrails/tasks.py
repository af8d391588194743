"""The guardrails app's tasks: thin, ids in, safe to deliver twice."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from guardrails.services.classifier import TRAIN_TASK, version_sweep, version_train

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "guardrails.classifier_sweep": {"task": "guardrails.classifier_sweep", "schedule": 300.0},
}


@shared_task(
    name=TRAIN_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=3300,
    time_limit=3600,
)
def classifier_train(version_id: int) -> str | None:
    """Train a queued classifier version. A redelivered task finds the row claimed and does nothing."""
    version = version_train(version_id=version_id)
    return None if version is None else version.status


@shared_task(name="guardrails.classifier_sweep", acks_late=True, reject_on_worker_lost=True)
def classifier_sweep() -> dict[str, int]:
    """Re-enqueue classifier versions whose training message was lost; fail abandoned trainings."""
    return version_sweep()
