"""The hook registry: how the core tells the apps above it what happened, without importing them.

The core never imports an app above it (DESIGN.md, "Layers"). Where it needs them (a model
call to price, a new project to protect, a review that a waiting step resumes from), it
publishes on a named, typed **hook** declared here, and each app subscribes a one-line receiver
in its ``AppConfig.ready()``::

    # declaring (once, in the publisher's layer)
    PROJECT_CREATED = Hook("project_created", ProjectCreated, transactional=True, description="...")

    # subscribing (costs/apps.py, guardrails/apps.py, ...)
    hooks.subscribe(PROJECT_CREATED, receivers.project_created)

    # publishing (governance/services/projects.py)
    hooks.publish(PROJECT_CREATED, ProjectCreated(project_id=project.pk, slug=project.slug))

Two kinds of channel share the registry:

* :class:`Hook` — *something happened*. Subscribers are told in order (``order``, then
  subscription order) in the publisher's thread. A subscriber that raises is logged with
  the trace id and counted (``arbiter_hook_subscriber_failures_total``), and the others still
  run: a broken ledger writer must never fail the model call it records. Inside a
  transaction each subscriber runs in a savepoint, so one that fails in the database leaves
  the publisher's transaction usable (rolled back to before that subscriber). A hook declared
  ``transactional=True`` instead re-raises the failure to the publisher, which publishes
  inside its own transaction, so the subscriber's work and the publisher's row commit
  together or not at all (``review_decided``: a pipeline step resumes from the review, or
  the review does not commit).
* :class:`Filter` — *transform this value*. Subscribers are applied in order, each to the
  previous one's result (redaction). A failing filter always raises: skipping a redactor
  would store the raw text it was meant to hide.

Payloads are frozen dataclasses (checked on publish), carrying ids and plain values rather
than model instances, so a subscriber can hand them to a task unchanged. This module is plain
Python (import-linter checks it): the LLM client, which must not import Django, declares its
own hooks with it (``governance.llm.hooks``).

Tests isolate subscribers with :func:`isolated` (or the ``isolated_hooks`` fixture) and
observe a hook with :func:`capture`.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import structlog
from prometheus_client import Counter

from governance import tracing

log = structlog.get_logger(__name__)

P = TypeVar("P")

DEFAULT_ORDER = 100

SUBSCRIBER_FAILURES = Counter(
    "arbiter_hook_subscriber_failures_total",
    "Hook subscribers that raised, by hook and subscriber",
    ["hook", "subscriber"],
)


class HookError(RuntimeError):
    """A hook was declared or used wrongly (a programming error, not a runtime condition)."""


class NoSubscriberError(HookError):
    """A required filter was applied while nothing is subscribed to it."""


@dataclass(frozen=True, slots=True)
class Subscription(Generic[P]):
    fn: Callable[[P], Any]
    name: str
    order: int
    seq: int


_lock = threading.Lock()
_registry: dict[str, _Channel[Any]] = {}
_seq = itertools.count()
# Set by the Django side at start-up (``GovernanceConfig.ready``): the registry itself knows
# nothing of databases, but a transactional hook published outside a transaction is a bug, and
# a failing subscriber inside one must not leave the publisher's transaction unusable.
_in_transaction: Callable[[], bool] | None = None
_savepoint: Callable[[], AbstractContextManager[object]] | None = None


def _subscriber_name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or repr(fn)
    return f"{module}.{qualname}"


class _Channel(Generic[P]):
    """What hooks and filters share: a name, a payload type, ordered subscribers."""

    kind = "channel"

    def __init__(self, name: str, payload: type[P], *, description: str) -> None:
        if not dataclasses.is_dataclass(payload) and payload is not str:
            raise HookError(f"hook {name!r}: the payload must be a dataclass (or str for filters)")
        self.name = name
        self.payload = payload
        self.description = description
        # Replaced, never mutated, so publishing iterates a stable tuple without the lock.
        self._subscriptions: tuple[Subscription[P], ...] = ()
        with _lock:
            if name in _registry:
                raise HookError(f"a hook named {name!r} is already declared")
            _registry[name] = self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def subscribe(self, fn: Callable[[P], Any], *, order: int = DEFAULT_ORDER) -> None:
        with _lock:
            # ``!=`` rather than ``is not``: each ``obj.method`` access is a new bound method,
            # and ``ready()`` may run twice in tests, so subscribing twice is a no-op.
            if any(s.fn == fn for s in self._subscriptions):
                return
            sub = Subscription(fn=fn, name=_subscriber_name(fn), order=order, seq=next(_seq))
            self._subscriptions = tuple(sorted((*self._subscriptions, sub), key=lambda s: (s.order, s.seq)))

    def unsubscribe(self, fn: Callable[[P], Any]) -> None:
        with _lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s.fn != fn)

    @property
    def subscriptions(self) -> tuple[Subscription[P], ...]:
        return self._subscriptions

    def _check(self, payload: object) -> None:
        if not isinstance(payload, self.payload):
            raise TypeError(f"{self.kind} {self.name!r} carries {self.payload.__name__}, not {type(payload).__name__}")

    def _failed(self, sub: Subscription[P], trace_id: str | None) -> None:
        SUBSCRIBER_FAILURES.labels(self.name, sub.name).inc()
        log.exception(f"{self.kind}.subscriber_failed", hook=self.name, subscriber=sub.name, trace_id=trace_id)


class Hook(_Channel[P]):
    """Something happened: every subscriber is told, in order, in the publisher's thread.

    ``transactional`` hooks must be published inside the publisher's transaction; a subscriber
    that raises is logged, counted and re-raised, so the publisher's transaction rolls back.
    Other hooks log and count the failure and go on. ``trace_id`` picks the trace id out of a
    payload for the failure log (default: the current trace).
    """

    kind = "hook"

    def __init__(
        self,
        name: str,
        payload: type[P],
        *,
        description: str,
        transactional: bool = False,
        trace_id: Callable[[P], str] | None = None,
    ) -> None:
        super().__init__(name, payload, description=description)
        self.transactional = transactional
        self._trace_id = trace_id

    def publish(self, payload: P) -> None:
        self._check(payload)
        subs = self._subscriptions
        if self.transactional:
            if _in_transaction is not None and not _in_transaction():
                raise HookError(f"the transactional hook {self.name!r} must be published inside a transaction")
            for sub in subs:
                try:
                    sub.fn(payload)
                except Exception:
                    self._failed(sub, self._trace_of(payload))
                    raise
            return
        if not subs:
            return
        savepoint = _savepoint if _in_transaction is not None and _in_transaction() else None
        for sub in subs:
            try:
                if savepoint is None:
                    sub.fn(payload)
                else:
                    with savepoint():
                        sub.fn(payload)
            except Exception:
                self._failed(sub, self._trace_of(payload))

    def _trace_of(self, payload: P) -> str | None:
        if self._trace_id is not None:
            try:
                return self._trace_id(payload) or tracing.current_trace_id()
            except Exception:  # the failure log must not fail
                return tracing.current_trace_id()
        return tracing.current_trace_id()


class Filter(_Channel[P]):
    """Transform a value: subscribers are applied in order, each to the previous result.

    A subscriber that raises is logged and counted, and the error propagates. ``required``
    filters raise :class:`NoSubscriberError` when applied with no subscriber.
    """

    kind = "filter"

    def __init__(self, name: str, payload: type[P], *, description: str, required: bool = True) -> None:
        super().__init__(name, payload, description=description)
        self.required = required

    def apply(self, value: P) -> P:
        self._check(value)
        subs = self._subscriptions
        if not subs and self.required:
            raise NoSubscriberError(f"nothing is subscribed to the filter {self.name!r}")
        for sub in subs:
            try:
                value = sub.fn(value)
            except Exception:
                self._failed(sub, tracing.current_trace_id())
                raise
        return value


# --- the verbs ------------------------------------------------------------------------------------


def subscribe(channel: _Channel[P], fn: Callable[[P], Any], *, order: int = DEFAULT_ORDER) -> Callable[[P], Any]:
    """Subscribe ``fn`` (idempotent); lower ``order`` runs first, then subscription order. Returns ``fn``."""
    channel.subscribe(fn, order=order)
    return fn


def unsubscribe(channel: _Channel[P], fn: Callable[[P], Any]) -> None:
    channel.unsubscribe(fn)


def publish(hook: Hook[P], payload: P) -> None:
    """Tell every subscriber of ``hook`` (see :class:`Hook` for failures and transactions)."""
    hook.publish(payload)


def apply(flt: Filter[P], value: P) -> P:
    """``value`` passed through every subscriber of ``flt``, in order."""
    return flt.apply(value)


def has_subscribers(channel: _Channel[Any]) -> bool:
    return bool(channel.subscriptions)


def declared() -> dict[str, _Channel[Any]]:
    """Every hook and filter declared so far, by name (the catalogue, for docs and tests)."""
    with _lock:
        return dict(_registry)


def set_transaction_support(
    *, in_transaction: Callable[[], bool] | None, savepoint: Callable[[], AbstractContextManager[object]] | None
) -> None:
    """How hooks see the publisher's transaction: whether one is open (transactional hooks must
    be published inside one) and how to open a savepoint around each other subscriber in it."""
    global _in_transaction, _savepoint
    _in_transaction, _savepoint = in_transaction, savepoint


# --- for tests ------------------------------------------------------------------------------------


@contextmanager
def isolated(*channels: _Channel[Any]) -> Iterator[None]:
    """Run a block with no subscribers on ``channels`` (all of them when none is named), then
    restore the subscribers connected before, e.g. by the apps' ``ready()``."""
    with _lock:
        targets = list(channels) or list(_registry.values())
        saved = [(c, c._subscriptions) for c in targets]
        for c in targets:
            c._subscriptions = ()
    try:
        yield
    finally:
        with _lock:
            for c, subs in saved:
                c._subscriptions = subs


@contextmanager
def capture(hook: Hook[P], *, order: int = DEFAULT_ORDER) -> Iterator[list[P]]:
    """Collect what ``hook`` publishes during the block (alongside its other subscribers)."""
    seen: list[P] = []
    recorder = seen.append
    hook.subscribe(recorder, order=order)
    try:
        yield seen
    finally:
        hook.unsubscribe(recorder)


# --- the core's hooks --------------------------------------------------------------------------------
# The LLM client declares its own (``governance.llm.hooks``: ``provider_call_attempted``,
# ``breaker_state_changed``) and the request middleware ``request_finished``, because their
# payloads are their own types. Every hook is listed in DEVELOPERS.md.


@dataclass(frozen=True, slots=True)
class ProjectCreated:
    project_id: int
    slug: str


PROJECT_CREATED: Hook[ProjectCreated] = Hook(
    "project_created",
    ProjectCreated,
    transactional=True,
    description="A project was created. Published in its transaction, so apps give it their day-one "
    "defaults (e.g. the default guard policy) atomically: a project never exists without them.",
)


@dataclass(frozen=True, slots=True)
class DemoSeedRequested:
    project_id: int
    slug: str


DEMO_SEED_REQUESTED: Hook[DemoSeedRequested] = Hook(
    "demo_seed_requested",
    DemoSeedRequested,
    transactional=True,
    description="`manage.py seed_demo` made the demo project; each app seeds its part (idempotently: "
    "it runs on every `make run`). Use `order` for dependencies (prices before traffic).",
)


@dataclass(frozen=True, slots=True)
class AlertRaised:
    alert_id: int
    kind: str
    severity: str
    subject: str
    message: str
    project_id: int | None
    created: bool
    count: int


ALERT_RAISED: Hook[AlertRaised] = Hook(
    "alert_raised",
    AlertRaised,
    description="An alert was raised (created) or repeated within its de-duplication period "
    "(count incremented). Delivery channels subscribe here.",
)


@dataclass(frozen=True, slots=True)
class ReviewDecided:
    """An operator (or a key with the review scope) decided a review item: approve, reject, override."""

    review_id: int
    item_id: int
    envelope_id: str
    project_id: int
    trace_id: str
    action: str
    state_after: str
    reviewer: str
    reviewer_user_id: int | None
    reviewer_api_key_id: int | None
    note: str
    correction_envelope_id: str | None
    corrected_output: Any
    decided_at: datetime


REVIEW_DECIDED: Hook[ReviewDecided] = Hook(
    "review_decided",
    ReviewDecided,
    transactional=True,
    trace_id=lambda e: e.trace_id,
    description="A review item was decided (approved, rejected or overridden). Published in the "
    "transaction that appends the Review row: a subscriber that raises rolls the review back, so "
    "a waiting pipeline step resumes from a review exactly when the review commits.",
)


REDACT: Filter[str] = Filter(
    "redact",
    str,
    description="Text to be stored redacted passes through every subscriber (the guard engine's PII and "
    "secret redactor). Required: with no subscriber, provenance stores only a hash.",
)
