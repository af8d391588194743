"""Process-wide hooks: how the LLM client tells the apps above it what happened.

The client lives in the core and must not import ``costs`` or the alerting
code; instead it publishes here and they subscribe in ``AppConfig.ready()``:

* ``on_model_call`` receives a ``UsageEvent`` per attempt of every chat call
  (the costs ledger, metrics);
* ``on_breaker_state_change`` receives every breaker ``StateChange`` (an alert
  when one opens, a metrics gauge), whichever client or registry caused it, so
  a subscription survives ``configure()`` replacing the client.

Subscribers run synchronously in the caller's thread, in subscription order;
one that raises is logged and skipped, because a broken ledger writer or
alert sender must never fail (or retry) a model call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from governance.llm.types import UsageEvent

if TYPE_CHECKING:
    from governance.llm.breaker import StateChange

logger = logging.getLogger(__name__)

ModelCallSubscriber = Callable[[UsageEvent], None]
BreakerSubscriber = Callable[["StateChange"], None]

_lock = threading.Lock()
# Replaced, never mutated, so publishing iterates a stable tuple without a lock.
_model_call: tuple[ModelCallSubscriber, ...] = ()
_breaker: tuple[BreakerSubscriber, ...] = ()


def on_model_call(fn: ModelCallSubscriber) -> ModelCallSubscriber:
    """Subscribe ``fn`` (usable as a decorator). Subscribing twice is a no-op,
    since ``ready()`` can run more than once in tests."""
    global _model_call
    with _lock:
        if fn not in _model_call:
            _model_call = (*_model_call, fn)
    return fn


def remove_model_call_subscriber(fn: ModelCallSubscriber) -> None:
    global _model_call
    with _lock:
        # ``!=`` rather than ``is not``: each ``obj.method`` access is a new bound method.
        _model_call = tuple(s for s in _model_call if s != fn)


def on_breaker_state_change(fn: BreakerSubscriber) -> BreakerSubscriber:
    """Subscribe ``fn`` to every breaker transition (usable as a decorator).

    A transition is delivered once, in the process whose acquire/record caused
    it (the store step is atomic, so exactly one process sees it happen).
    """
    global _breaker
    with _lock:
        if fn not in _breaker:
            _breaker = (*_breaker, fn)
    return fn


def remove_breaker_state_change_subscriber(fn: BreakerSubscriber) -> None:
    global _breaker
    with _lock:
        _breaker = tuple(s for s in _breaker if s != fn)


def clear_subscribers() -> None:
    """Drop every subscriber of both hooks (tests)."""
    global _model_call, _breaker
    with _lock:
        _model_call, _breaker = (), ()


@contextmanager
def isolated_subscribers() -> Iterator[None]:
    """Run a block with no subscribers, then restore the previous ones (tests).

    Unlike ``clear_subscribers`` it leaves receivers connected by apps'
    ``ready()`` in place for the tests that run afterwards.
    """
    global _model_call, _breaker
    with _lock:
        saved = _model_call, _breaker
        _model_call, _breaker = (), ()
    try:
        yield
    finally:
        with _lock:
            _model_call, _breaker = saved


def publish_model_call(event: UsageEvent) -> None:
    for subscriber in _model_call:
        try:
            subscriber(event)
        except Exception:
            logger.exception(
                "model-call subscriber %r failed (provider=%s attempt=%s trace_id=%s)",
                subscriber,
                event.provider,
                event.attempt,
                event.context.trace_id,
            )


def publish_breaker_state_change(change: StateChange) -> None:
    for subscriber in _breaker:
        try:
            subscriber(change)
        except Exception:
            logger.exception("breaker subscriber %r failed (breaker=%s -> %s)", subscriber, change.key, change.current)
