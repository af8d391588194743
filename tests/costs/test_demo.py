"""The demo's simulated traffic gives every cost report something to show, and seeding twice adds nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from costs import reports
from costs.models import Outcome, UsageRecord
from costs.reports import ReportWindow
from governance.services.demo import demo_seed

pytestmark = pytest.mark.django_db


def test_demo_traffic_fills_the_reports_and_is_idempotent():
    project = demo_seed().project
    usage, outcomes = (
        UsageRecord.objects.filter(project=project).count(),
        Outcome.objects.filter(project=project).count(),
    )
    assert usage > 200
    assert outcomes > 100
    assert not UsageRecord.objects.filter(project=project, cost_nanos__isnull=True).exists()  # all priced

    today = timezone.now().date()
    window = ReportWindow(project=project, start=today - timedelta(days=20), end=today)
    totals = reports.recompute(window)["totals"]
    for part in ("retry_usd", "duplicate_usd", "failed_usd"):
        assert Decimal(totals[part]) > 0, part
    assert "initech" in reports.margin(window, group_by="customer")["negative"]
    per_outcome = {r["feature"]: r for r in reports.cost_per_outcome(window, group_by="feature")["rows"]}
    assert per_outcome["support"]["successful_outcomes"] > 0

    demo_seed()
    assert UsageRecord.objects.filter(project=project).count() == usage
    assert Outcome.objects.filter(project=project).count() == outcomes
