"""The hook registry: typed hooks and filters, failures, transactions, isolation."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from django.db import transaction

from governance import hooks
from governance.hooks import Filter, Hook, HookError, NoSubscriberError


@dataclass(frozen=True)
class Ping:
    n: int
    trace: str = ""


# Declared once per test session: hook names are unique in the registry.
PING: Hook[Ping] = Hook("test_ping", Ping, description="a test hook", trace_id=lambda p: p.trace)
PING_TX: Hook[Ping] = Hook("test_ping_tx", Ping, description="a transactional test hook", transactional=True)
UPPER: Filter[str] = Filter("test_upper", str, description="a test filter")


def failure_logs(caplog: pytest.LogCaptureFixture, event: str = "hook.subscriber_failed") -> list[dict[str, object]]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == event]


def failures(hook: str, subscriber: str) -> float:
    return float(hooks.SUBSCRIBER_FAILURES.labels(hook, subscriber)._value.get())


def test_subscribers_run_in_order_once_each_even_if_subscribed_twice():
    seen: list[str] = []

    def first(p: Ping) -> None:
        seen.append(f"first {p.n}")

    def second(p: Ping) -> None:
        seen.append(f"second {p.n}")

    with hooks.isolated(PING):
        hooks.subscribe(PING, second)
        hooks.subscribe(PING, first, order=1)
        hooks.subscribe(PING, second)
        hooks.publish(PING, Ping(1))
    assert seen == ["first 1", "second 1"]


def test_the_payload_type_is_checked():
    with pytest.raises(TypeError, match="test_ping"):
        PING.publish("not a ping")  # type: ignore[arg-type]


def test_a_hook_name_is_declared_once():
    with pytest.raises(HookError, match="already declared"):
        Hook("test_ping", Ping, description="again")
    with pytest.raises(HookError, match="dataclass"):
        Hook("test_not_a_dataclass", dict, description="no")  # type: ignore[arg-type]


def test_a_failing_subscriber_is_logged_with_the_trace_id_counted_and_the_others_still_run(caplog):
    seen: list[int] = []

    def broken(p: Ping) -> None:
        raise RuntimeError("ledger down")

    name = f"{__name__}.{broken.__qualname__}"
    before = failures("test_ping", name)
    with hooks.isolated(PING), caplog.at_level(logging.ERROR, logger="governance.hooks"):
        hooks.subscribe(PING, broken)
        hooks.subscribe(PING, lambda p: seen.append(p.n))
        hooks.publish(PING, Ping(7, trace="abc123"))  # does not raise
    assert seen == [7]
    (logged,) = failure_logs(caplog)
    assert (logged["hook"], logged["subscriber"], logged["trace_id"]) == ("test_ping", name, "abc123")
    assert "ledger down" in caplog.text
    assert failures("test_ping", name) == before + 1


@pytest.mark.django_db
def test_a_transactional_hook_re_raises_so_the_publishers_transaction_rolls_back(alice_project):
    from governance.models import Alert

    def broken(p: Ping) -> None:
        raise RuntimeError("step cannot resume")

    def publish_with_a_row() -> None:
        with transaction.atomic():
            Alert.objects.create(kind="other", subject="x", dedupe_key="x", message="m")
            hooks.publish(PING_TX, Ping(1))

    with hooks.isolated(PING_TX):
        hooks.subscribe(PING_TX, broken)
        with pytest.raises(RuntimeError, match="cannot resume"):
            publish_with_a_row()
    assert not Alert.objects.filter(dedupe_key="x").exists()


@pytest.mark.django_db
def test_a_subscriber_failing_in_the_database_leaves_the_publishers_transaction_usable(alice_project):
    from django.db import IntegrityError

    from governance.models import Alert

    def dup(key: str) -> None:
        Alert.objects.create(kind="other", subject=key, dedupe_key=key, message="m")

    def writes_then_fails(p: Ping) -> None:
        dup("from-subscriber")
        dup("from-subscriber")  # unique dedupe_key: IntegrityError

    def healthy(p: Ping) -> None:
        dup("from-healthy-subscriber")

    with hooks.isolated(PING):
        hooks.subscribe(PING, writes_then_fails)
        hooks.subscribe(PING, healthy)
        with transaction.atomic():
            dup("before")
            hooks.publish(PING, Ping(1))  # the IntegrityError is logged and counted, not raised
            dup("after")  # the publisher's transaction still works
    keys = set(Alert.objects.values_list("dedupe_key", flat=True))
    assert {"before", "after", "from-healthy-subscriber"} <= keys
    assert "from-subscriber" not in keys  # the failing subscriber's work was rolled back alone
    with pytest.raises(IntegrityError), transaction.atomic():
        dup("before")


@pytest.mark.django_db(transaction=True)
def test_a_transactional_hook_refuses_to_publish_outside_a_transaction():
    with pytest.raises(HookError, match="inside a transaction"):
        hooks.publish(PING_TX, Ping(1))
    with transaction.atomic():
        hooks.publish(PING_TX, Ping(1))


def test_filters_chain_in_order_and_a_required_filter_needs_a_subscriber():
    with hooks.isolated(UPPER):
        with pytest.raises(NoSubscriberError):
            hooks.apply(UPPER, "x")
        hooks.subscribe(UPPER, str.upper)
        hooks.subscribe(UPPER, lambda s: s + "!", order=200)
        assert hooks.apply(UPPER, "hi") == "HI!"


def test_a_failing_filter_raises(caplog):
    def broken(text: str) -> str:
        raise ValueError("redactor down")

    with hooks.isolated(UPPER), caplog.at_level(logging.ERROR, logger="governance.hooks"):
        hooks.subscribe(UPPER, broken)
        with pytest.raises(ValueError, match="redactor down"):
            hooks.apply(UPPER, "secret")
    assert failure_logs(caplog, "filter.subscriber_failed")


def test_isolated_restores_the_subscribers_and_capture_collects():
    calls: list[int] = []
    hooks.subscribe(PING, lambda p: calls.append(p.n))
    try:
        with hooks.isolated():  # every hook
            assert not hooks.has_subscribers(PING)
            with hooks.capture(PING) as seen:
                hooks.publish(PING, Ping(1))
            assert seen == [Ping(1)]
            assert not hooks.has_subscribers(PING)
        hooks.publish(PING, Ping(2))
        assert calls == [2]
    finally:
        for sub in PING.subscriptions:
            hooks.unsubscribe(PING, sub.fn)


def test_the_isolated_hooks_fixture_starts_from_no_subscribers(isolated_hooks):
    assert not hooks.has_subscribers(hooks.REDACT)
    assert not hooks.has_subscribers(hooks.PROJECT_CREATED)


def test_the_catalogue_names_every_hook_and_the_apps_subscribe_their_receivers():
    from governance.llm import BREAKER_STATE_CHANGED, PROVIDER_CALL_ATTEMPTED
    from governance.middleware import REQUEST_FINISHED

    catalogue = hooks.declared()
    for hook in (
        hooks.PROJECT_CREATED,
        hooks.DEMO_SEED_REQUESTED,
        hooks.ALERT_RAISED,
        hooks.REVIEW_DECIDED,
        hooks.REDACT,
        PROVIDER_CALL_ATTEMPTED,
        BREAKER_STATE_CHANGED,
        REQUEST_FINISHED,
    ):
        assert catalogue[hook.name] is hook
        assert hook.description
    subscribers = {name: [s.name for s in c.subscriptions] for name, c in catalogue.items()}
    assert "costs.receivers.provider_call_attempted" in subscribers["provider_call_attempted"]
    assert "governance.receivers.alert_raised" in subscribers["alert_raised"]
    assert "guardrails.receivers.project_created" in subscribers["project_created"]
    assert subscribers["demo_seed_requested"] == [
        "costs.receivers.demo_seed_requested",
        "guardrails.receivers.demo_seed_requested",
        "orchestration.receivers.demo_seed_requested",
    ]
    assert [h.name for h in catalogue.values() if isinstance(h, Hook) and h.transactional and "test" not in h.name] == [
        "project_created",
        "demo_seed_requested",
        "review_decided",
    ]
