"""The LLM client's hooks: how it tells the apps above it what happened.

Declared on the core's one hook registry (``governance.hooks``); this module only names the
client's two hooks and their payloads, so the client stays plain Python:

* ``PROVIDER_CALL_ATTEMPTED`` carries a ``UsageEvent`` per attempt of every provider call
  (chat completions, and classifier posts that report usage): the costs ledger, provenance
  spans and metrics subscribe;
* ``BREAKER_STATE_CHANGED`` carries every breaker ``StateChange`` (an alert when one opens, a
  metrics gauge), whichever client or registry caused it, so a subscription survives
  ``configure()`` replacing the client.

Subscribers run synchronously in the caller's thread, in order; one that raises is logged
and counted and skipped (neither hook is transactional), because a broken ledger writer or
alert sender must never fail, or retry, a model call.
"""

from __future__ import annotations

from governance.hooks import Hook
from governance.llm.types import StateChange, UsageEvent

PROVIDER_CALL_ATTEMPTED: Hook[UsageEvent] = Hook(
    "provider_call_attempted",
    UsageEvent,
    trace_id=lambda event: event.context.trace_id,
    description="One attempt of a call to a model provider finished (ok, retry or error), with its token "
    "usage and the caller's context (project, tags, reservation). Published by the LLM client.",
)

BREAKER_STATE_CHANGED: Hook[StateChange] = Hook(
    "breaker_state_changed",
    StateChange,
    description="A circuit breaker changed state (delivered once, in the process whose call caused it).",
)
