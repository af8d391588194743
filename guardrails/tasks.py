"""The guardrails app's tasks: thin, ids in, safe to deliver twice."""

from __future__ import annotations

from celery import shared_task

from guardrails.services.classifier import TRAIN_TASK, version_train


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
