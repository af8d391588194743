"""Enqueueing tasks on commit, and what happens when the broker is down.

Services enqueue with :func:`enqueue_on_commit` (never ``.delay()`` inside a transaction:
a worker could run the task before the row it needs is committed). If the broker cannot
take the message, the request that caused it has already committed its data and must still
succeed, so the task's declared policy decides:

* ``RUN_INLINE``: run it now, in this process (short, idempotent tasks);
* ``LEAVE_FOR_SWEEPER``: do nothing more; the row the task works on is still in its
  waiting state and the owning app's periodic sweeper enqueues it once the broker is back
  (long tasks such as pipeline runs, which must not run inside a web request).

Either way the outage is logged once, counted (``arbiter_dependency_fallbacks_total``
with ``dependency="broker"``) and alerted once (``governance.degradation``); each skipped
or inline task is logged with its name. While the broker is known down only one enqueue per
retry interval tries it, so requests do not each wait for the broker's connect timeout.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import kombu.exceptions
import redis
import structlog
from celery import Task
from django.db import transaction

from governance.dependencies import BROKER, dependency

log = structlog.get_logger(__name__)

COMPONENT = "enqueue"
# A publish that fails once is retried once at once: a dead broker costs one round trip.
_PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
_BROKER_ERRORS = (kombu.exceptions.OperationalError, redis.RedisError, ConnectionError, OSError)


class WhenBrokerDown(enum.StrEnum):
    RUN_INLINE = "run_inline"
    LEAVE_FOR_SWEEPER = "leave_for_sweeper"


class Enqueued(enum.StrEnum):
    QUEUED = "queued"
    RAN_INLINE = "ran_inline"
    LEFT_FOR_SWEEPER = "left_for_sweeper"


def enqueue_on_commit(
    task: Task[Any, Any],
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    when_broker_down: WhenBrokerDown,
) -> None:
    """Enqueue ``task`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: enqueue_now(task, args=args, kwargs=kwargs, when_broker_down=when_broker_down), robust=True
    )


def enqueue_now(
    task: Task[Any, Any],
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    when_broker_down: WhenBrokerDown,
) -> Enqueued:
    """Publish ``task`` to the broker, or apply ``when_broker_down``; never raises a broker error."""
    broker = dependency(BROKER)
    if task.app.conf.task_always_eager:
        task.apply_async(args=tuple(args), kwargs=dict(kwargs or {}))
        return Enqueued.QUEUED
    if broker.should_try():
        try:
            task.apply_async(args=tuple(args), kwargs=dict(kwargs or {}), retry=True, retry_policy=_PUBLISH_RETRY)
        except _BROKER_ERRORS as exc:
            broker.failed(COMPONENT, exc)
        else:
            broker.succeeded(COMPONENT)
            return Enqueued.QUEUED
    else:
        broker.fell_back(COMPONENT)
    if when_broker_down is WhenBrokerDown.LEAVE_FOR_SWEEPER:
        log.warning("task.left_for_sweeper", task=task.name, reason="broker unavailable")
        return Enqueued.LEFT_FOR_SWEEPER
    log.warning("task.run_inline", task=task.name, reason="broker unavailable")
    result = task.apply(args=tuple(args), kwargs=dict(kwargs or {}))
    if result.failed():
        log.error("task.run_inline_failed", task=task.name, error=repr(result.result)[:300])
    return Enqueued.RAN_INLINE
