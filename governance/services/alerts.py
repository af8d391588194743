"""Raising and acknowledging alerts, de-duplicated by kind + subject within a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from prometheus_client import Counter

from governance import hooks
from governance.choices import AlertKind, AlertSeverity
from governance.hooks import ALERT_RAISED, AlertRaised
from governance.models import Alert, Project

log = structlog.get_logger(__name__)

ALERTS_RAISED = Counter(
    "arbiter_alerts_raised_total",
    "Alerts raised (new) and repeated within their period, by kind and severity",
    ["kind", "severity", "repeat"],
)


def _period_key(now: datetime, period_seconds: int) -> str:
    return str(int(now.timestamp()) // max(period_seconds, 1))


def alert_raise(
    *,
    kind: AlertKind | str,
    subject: str,
    message: str,
    severity: AlertSeverity | str = AlertSeverity.WARNING,
    project: Project | None = None,
    payload: dict[str, Any] | None = None,
    period_seconds: int | None = None,
    period_key: str | None = None,
) -> Alert:
    """Raise an alert, or count a repeat of the same kind + subject within the period.

    ``period_key`` overrides the time bucket (budgets pass their budget period, so a crossing
    alerts once per period). Safe under concurrency: the unique ``dedupe_key`` makes racing
    raisers converge on one row, whose count is incremented in SQL.
    """
    now = timezone.now()
    bucket = period_key or _period_key(now, period_seconds or settings.ARBITER_ALERT_DEDUPE_SECONDS)
    dedupe_key = f"{kind}:{subject}:{bucket}"[:400]
    created = False
    updated = Alert.objects.filter(dedupe_key=dedupe_key).update(count=F("count") + 1, last_seen_at=now)
    if not updated:
        try:
            with transaction.atomic():
                Alert.objects.create(
                    kind=kind,
                    severity=severity,
                    subject=subject[:300],
                    project=project,
                    dedupe_key=dedupe_key,
                    message=message[:500],
                    payload=payload or {},
                    first_seen_at=now,
                    last_seen_at=now,
                )
                created = True
        except IntegrityError:
            Alert.objects.filter(dedupe_key=dedupe_key).update(count=F("count") + 1, last_seen_at=now)
    alert = Alert.objects.get(dedupe_key=dedupe_key)
    hooks.publish(
        ALERT_RAISED,
        AlertRaised(
            alert_id=alert.pk,
            kind=str(alert.kind),
            severity=str(alert.severity),
            subject=alert.subject,
            message=alert.message,
            project_id=alert.project_id,
            created=created,
            count=alert.count,
        ),
    )
    return alert


def alert_observe(event: AlertRaised) -> None:
    """The ``alert_raised`` receiver's service: a structured log line and a counter per kind and
    severity, so an alert reaches the logs and Prometheus whatever delivery channels exist."""
    ALERTS_RAISED.labels(event.kind, event.severity, "no" if event.created else "yes").inc()
    log.warning(
        "alert.raised",
        alert_id=event.alert_id,
        kind=event.kind,
        severity=event.severity,
        subject=event.subject,
        project_id=event.project_id,
        created=event.created,
        count=event.count,
        message=event.message,
    )


def alert_acknowledge(*, alert: Alert, user: AbstractBaseUser | None) -> Alert:
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=user
    )
    alert.refresh_from_db()
    return alert
