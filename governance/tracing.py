"""W3C trace context for the request and for the tasks it starts.

The current trace lives in context variables so the LLM client, services and Celery
tasks can read it without threading a parameter through every call.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import structlog

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    sampled: bool = True

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


_current: ContextVar[TraceContext | None] = ContextVar("arbiter_trace", default=None)


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def parse_traceparent(header: str | None) -> tuple[str, str, bool] | None:
    """``(trace_id, parent_span_id, sampled)`` from a valid ``traceparent``, else ``None``."""
    if not header:
        return None
    match = _TRACEPARENT.match(header.strip().lower())
    if not match:
        return None
    trace_id, parent_id, flags = match.groups()
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None  # all-zero ids are invalid per the spec
    return trace_id, parent_id, bool(int(flags, 16) & 1)


def context_from_traceparent(header: str | None) -> TraceContext:
    """Continue the caller's trace with a new span of ours, or start a new trace."""
    parsed = parse_traceparent(header)
    if parsed is None:
        return TraceContext(trace_id=new_trace_id(), span_id=new_span_id())
    trace_id, parent, sampled = parsed
    return TraceContext(trace_id=trace_id, span_id=new_span_id(), parent_span_id=parent, sampled=sampled)


def current() -> TraceContext | None:
    return _current.get()


def current_trace_id() -> str | None:
    ctx = _current.get()
    return ctx.trace_id if ctx else None


@contextmanager
def activate(ctx: TraceContext) -> Iterator[TraceContext]:
    """Make ``ctx`` the current trace and bind its id into every log line until exit."""
    token = _current.set(ctx)
    bound = structlog.contextvars.bind_contextvars(trace_id=ctx.trace_id, span_id=ctx.span_id)
    try:
        yield ctx
    finally:
        structlog.contextvars.reset_contextvars(**bound)
        _current.reset(token)


@contextmanager
def child_span(name: str | None = None) -> Iterator[TraceContext]:
    """A new span under the current one (or a new trace when there is none)."""
    parent = _current.get()
    if parent is None:
        ctx = TraceContext(trace_id=new_trace_id(), span_id=new_span_id())
    else:
        ctx = TraceContext(trace_id=parent.trace_id, span_id=new_span_id(), parent_span_id=parent.span_id)
    with activate(ctx):
        yield ctx
