"""Carry the trace context from the request into the Celery tasks it starts.

The publisher adds ``traceparent`` to the task headers; the worker continues that trace
for the task's duration, so its log lines carry the same ``trace_id`` as the request's.
"""

from __future__ import annotations

from typing import Any

from celery import signals

from governance import tracing

_active: dict[str, Any] = {}


@signals.before_task_publish.connect
def _add_traceparent(headers: dict[str, Any] | None = None, **_: Any) -> None:
    ctx = tracing.current()
    if ctx is not None and headers is not None:
        headers.setdefault("traceparent", ctx.traceparent)


@signals.task_prerun.connect
def _continue_trace(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    header = getattr(request, "traceparent", None) if request is not None else None
    if header is None and request is not None:
        header = (getattr(request, "headers", None) or {}).get("traceparent")
    if header is None and tracing.current() is not None:
        return  # eager task inside a request: it already runs in the request's trace
    manager = tracing.activate(tracing.context_from_traceparent(header))
    manager.__enter__()
    if task_id:
        _active[task_id] = manager


@signals.task_postrun.connect
def _end_trace(task_id: str | None = None, **_: Any) -> None:
    manager = _active.pop(task_id or "", None)
    if manager is not None:
        manager.__exit__(None, None, None)
