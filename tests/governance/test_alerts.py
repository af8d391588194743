from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from governance.choices import AlertKind
from governance.models import Alert
from governance.services.alerts import alert_acknowledge, alert_raise


@pytest.mark.django_db
def test_alert_deduplicates_by_kind_and_subject_within_a_period():
    a = alert_raise(kind=AlertKind.BREAKER_OPEN, subject="breaker:openai:gpt", message="open")
    b = alert_raise(kind=AlertKind.BREAKER_OPEN, subject="breaker:openai:gpt", message="open again")
    c = alert_raise(kind=AlertKind.BREAKER_OPEN, subject="breaker:anthropic:claude", message="open")
    assert a.pk == b.pk != c.pk
    assert Alert.objects.get(pk=a.pk).count == 2


@pytest.mark.django_db
def test_alert_period_key_makes_a_new_alert_per_period():
    a = alert_raise(kind=AlertKind.BUDGET_SOFT, subject="budget:1", message="80%", period_key="2026-11")
    b = alert_raise(kind=AlertKind.BUDGET_SOFT, subject="budget:1", message="80%", period_key="2026-12")
    assert a.pk != b.pk


@pytest.mark.django_db
def test_acknowledge(admin_user):
    alert = alert_raise(kind=AlertKind.OTHER, subject="x", message="m")
    alert_acknowledge(alert=alert, user=admin_user)
    assert Alert.objects.get(pk=alert.pk).acknowledged_by == admin_user


@pytest.mark.django_db(transaction=True)
def test_concurrent_raisers_converge_on_one_alert(postgres_required):
    def raise_one(_):
        try:
            return alert_raise(kind=AlertKind.GUARD_ERROR_RATE, subject="policy:default", message="errors").pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(raise_one, range(16)))
    assert len(ids) == 1
    assert Alert.objects.get().count == 16


@pytest.mark.django_db
def test_every_raise_reaches_the_alert_raised_subscriber_a_log_line_and_a_counter(caplog):
    import logging

    from governance import hooks
    from governance.services.alerts import ALERTS_RAISED

    new = ALERTS_RAISED.labels("ledger_broken", "critical", "no")
    repeat = ALERTS_RAISED.labels("ledger_broken", "critical", "yes")
    before = (new._value.get(), repeat._value.get())
    with hooks.capture(hooks.ALERT_RAISED) as seen, caplog.at_level(logging.WARNING):
        for _ in range(2):
            alert_raise(kind=AlertKind.LEDGER_BROKEN, subject="ledger:1", message="gap", severity="critical")
    assert [(e.kind, e.severity, e.created, e.count) for e in seen] == [
        ("ledger_broken", "critical", True, 1),
        ("ledger_broken", "critical", False, 2),
    ]
    assert (new._value.get(), repeat._value.get()) == (before[0] + 1, before[1] + 1)
    logged = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "alert.raised"]
    assert [(m["subject"], m["count"]) for m in logged] == [("ledger:1", 1), ("ledger:1", 2)]
