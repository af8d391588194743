"""The core's Celery tasks."""

from __future__ import annotations

from celery import shared_task

from governance import tracing


@shared_task(name="governance.ping")
def ping() -> dict[str, str | None]:
    """Liveness of the worker pool; answers with the trace id the task ran under."""
    return {"pong": "ok", "trace_id": tracing.current_trace_id()}
