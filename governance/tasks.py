"""The core's Celery tasks."""

from __future__ import annotations

from celery import shared_task

from governance import tracing
from governance.services.retention import retention_sweep as retention_sweep_service

#: Beat entry added by ``GovernanceConfig.ready()``.
RETENTION_SWEEP_SCHEDULE = {
    "governance.retention_sweep": {"task": "governance.retention_sweep", "schedule": 60 * 60.0},
}


@shared_task(name="governance.ping")
def ping() -> dict[str, str | None]:
    """Liveness of the worker pool; answers with the trace id the task ran under."""
    return {"pong": "ok", "trace_id": tracing.current_trace_id()}


@shared_task(name="governance.retention_sweep", acks_late=True, reject_on_worker_lost=True)
def retention_sweep() -> dict[str, int]:
    """Remove raw content past each project's retention period (idempotent; hashes stay)."""
    return {r.project: r.purged for r in retention_sweep_service()}
