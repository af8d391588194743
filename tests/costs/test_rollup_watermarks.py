"""Partial-day rollups: rollups up to a watermark plus raw rows after it agree exactly with raw rows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db.models import Q
from django.urls import reverse

from costs import reports
from costs.models import OutcomeDaily, RecomputeDaily, RollupDay, RollupMark, UsageDaily
from costs.pricing import usd_to_nanos
from costs.services.rollups import WATERMARK_LAG, rollup_day, rollup_recent
from costs.services.usage import OutcomeInput, UsageInput, outcome_ingest, usage_ingest
from governance.llm import Usage
from tests.costs.conftest import D1, D2, at

pytestmark = pytest.mark.django_db


def _reports(project: Any, start: date, end: date, source: reports.Source) -> dict[str, Any]:
    def w(**kw: Any) -> reports.ReportWindow:
        return reports.ReportWindow(project=project, start=start, end=end, source=source, **kw)

    return {
        "cpo_feature": reports.cost_per_outcome(w(), group_by="feature"),
        "cpo_customer": reports.cost_per_outcome(w(), group_by="customer"),
        "cpo_day": reports.cost_per_outcome(w(), group_by="day"),
        "recompute": reports.recompute(w()),
        "margin": reports.margin(w(), group_by="feature"),
        "filtered": reports.cost_per_outcome(w(feature="support", pipeline="triage")),
    }


def assert_agree(project: Any, start: date = D1, end: date = D2) -> dict[str, Any]:
    raw = _reports(project, start, end, "raw")
    assert _reports(project, start, end, "auto") == raw
    return raw


def rollup_rows(project: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row's key and metrics, to compare an incremental rollup with a rebuild."""
    skip = {"id", "project"}

    def rows(model: Any) -> list[tuple[Any, ...]]:
        names = [f.attname for f in model._meta.concrete_fields if f.name not in skip]
        return sorted(model.objects.filter(project=project).values_list(*names), key=str)

    return {m.__name__: rows(m) for m in (UsageDaily, RecomputeDaily, OutcomeDaily)}


def support(make_usage: Any, project: Any, hh: int, mm: int = 0, day: date = D1, **kw: Any) -> Any:
    kw.setdefault("feature", "support")
    kw.setdefault("customer", "acme")
    kw.setdefault("pipeline", "triage")
    kw.setdefault("cost", usd_to_nanos(1))
    return make_usage(project, occurred_at=at(day, hh, mm), **kw)


def test_a_partial_day_reads_rollups_then_raw_rows_after_the_watermark(alice_project, make_usage, make_outcome):
    p = alice_project
    support(make_usage, p, 10, trace_id="t1", request_hash="h1")
    support(make_usage, p, 10, 30, trace_id="t1", request_hash="h1")  # duplicate
    support(make_usage, p, 12, 20, trace_id="t2", request_hash="h3")
    support(make_usage, p, 12, trace_id="t2", status="error", request_hash="h2")
    support(make_usage, p, 12, 30, trace_id="t2", attempt=2, request_hash="h2", cost=usd_to_nanos("0.5"))
    make_outcome(p, occurred_at=at(D1, 12), trace_id="t1", value=usd_to_nanos(5), feature="support", customer="acme")

    rollup_recent(project=p, now=at(D1, 13))
    state = RollupDay.objects.get(project=p, day=D1)
    assert state.complete_until == at(D1, 13) - WATERMARK_LAG
    assert state.usage_rows == 5
    assert not RollupMark.objects.filter(day=D1).exists()  # consumed

    # More usage after the watermark: read raw, the rest from rollups.
    support(make_usage, p, 13, 5, trace_id="t3", request_hash="h3")  # duplicate of the 12:20 call, rolled up
    support(make_usage, p, 14, trace_id="t3", cost=None, model="mystery")
    make_outcome(p, occurred_at=at(D1, 14), trace_id="t3", value=usd_to_nanos(1), feature="support", customer="acme")
    rolled, raw_q = reports.ReportWindow(project=p, start=D1, end=D1).split()
    assert rolled == [D1]
    assert raw_q == Q(occurred_at__gte=at(D1, 12, 58), occurred_at__lt=at(D2, 0))
    raw = assert_agree(p, D1, D1)
    assert raw["recompute"]["totals"]["duplicate_usd"] == "2.000000"

    # The next run adds only the rows since the watermark, and equals a rebuild.
    assert rollup_recent(project=p, now=at(D1, 15)) == 2  # today and yesterday
    assert RollupDay.objects.get(project=p, day=D1).usage_rows == 7
    assert reports.ReportWindow(project=p, start=D1, end=D1).split()[1] is not None  # 14:58 onwards
    assert_agree(p, D1, D1)
    incremental = rollup_rows(p)
    rollup_day(project=p, day=D1, until=at(D1, 15) - WATERMARK_LAG, rebuild=True)
    assert rollup_rows(p) == incremental

    # The day ends: the next run completes it and nothing is read raw any more.
    support(make_usage, p, 23, 59, trace_id="t4")
    rollup_recent(project=p, now=at(D2, 0, 10))
    assert RollupDay.objects.get(project=p, day=D1).complete_until == at(D2, 0)
    assert reports.ReportWindow(project=p, start=D1, end=D1).split() == ([D1], None)
    assert_agree(p)


def test_late_usage_and_outcomes_before_the_watermark(alice_project, make_usage, alice):
    p = alice_project
    support(make_usage, p, 9, trace_id="t1")
    support(make_usage, p, 10, trace_id="t2", request_hash="late")
    rollup_recent(project=p, now=at(D1, 12))
    before = assert_agree(p, D1, D1)

    # Late usage (through the API) before the watermark: the day's rollups are stale, read raw.
    late = {"client_id": "late", "provider": "openai", "model": "gpt-4o", "input_tokens": 1, "output_tokens": 1,
            "cost_usd": "10", "feature": "support", "occurred_at": "2025-03-01T09:30:00Z"}  # fmt: skip
    assert alice.client().post("/api/v1/usage", [late], format="json").status_code == 201
    assert reports.ReportWindow(project=p, start=D1, end=D1).split()[0] == []
    after = assert_agree(p, D1, D1)
    assert after["cpo_feature"]["totals"]["cost_usd"] != before["cpo_feature"]["totals"]["cost_usd"]

    # A late successful outcome on a rolled-up trace changes its no-outcome cost: stale too.
    rollup_recent(project=p, now=at(D1, 12, 5))
    assert reports.ReportWindow(project=p, start=D1, end=D1).split()[0] == [D1]
    outcome = OutcomeInput(client_id="o-late", kind="resolved", success=True, occurred_at=at(D1, 11, 59), trace_id="t1")
    outcome_ingest(project=p, api_key=None, outcomes=[outcome])
    assert reports.ReportWindow(project=p, start=D1, end=D1).split()[0] == []
    assert assert_agree(p, D1, D1)["cpo_feature"]["totals"]["successful_outcomes"] == 1

    # The next run rebuilds the stale day, which then equals a rebuild from scratch.
    rollup_recent(project=p, now=at(D1, 12, 10))
    assert reports.ReportWindow(project=p, start=D1, end=D1).split()[0] == [D1]
    assert_agree(p, D1, D1)
    incremental = rollup_rows(p)
    rollup_day(project=p, day=D1, until=at(D1, 12, 10) - WATERMARK_LAG, rebuild=True)
    assert rollup_rows(p) == incremental


def test_duplicates_straddling_the_watermark_and_midnight(alice_project, make_usage):
    p = alice_project
    support(make_usage, p, 12, 50, request_hash="h")  # first seen, rolled up
    support(make_usage, p, 23, 59, request_hash="m")  # D1, rolled up; the window includes its end
    support(make_usage, p, 0, 20, day=D2, request_hash="n")  # D2, not a duplicate when rolled
    rollup_recent(project=p, now=at(D2, 1))
    assert list(RollupDay.objects.filter(project=p).values_list("day", "complete_until")) == [
        (D2, at(D2, 0, 58)),
        (D1, at(D2, 0)),
    ]
    # After D2's watermark: a duplicate of a call before it, and one of a call on the day before.
    support(make_usage, p, 0, 59, day=D2, request_hash="m", cost=usd_to_nanos(3))
    rolled, raw_q = reports.ReportWindow(project=p, start=D1, end=D2).split()
    assert rolled == [D1, D2]
    assert raw_q is not None
    raw = assert_agree(p)
    assert raw["recompute"]["totals"]["duplicate_usd"] == "3.000000"

    # A late first attempt at 23:50 on D1 makes the rolled-up 00:20 call on D2 a duplicate:
    # both days went stale, and reports still agree.
    late = UsageInput(client_id="late", provider="openai", model="gpt-4o", usage=Usage(), cost_usd=Decimal(2),
                      occurred_at=at(D1, 23, 50), feature="support", pipeline="triage", request_hash="n")  # fmt: skip
    usage_ingest(project=p, api_key=None, records=[late])
    marks = dict(RollupMark.objects.filter(project=p).values_list("day", "since"))
    assert marks == {D1: at(D1, 23, 50), D2: at(D2, 0)}
    assert reports.ReportWindow(project=p, start=D1, end=D2).split()[0] == []
    raw = assert_agree(p)
    assert raw["recompute"]["totals"]["duplicate_usd"] == "4.000000"

    rollup_recent(project=p, now=at(D2, 1, 10))
    assert reports.ReportWindow(project=p, start=D1, end=D2).split()[0] == [D1, D2]
    assert assert_agree(p) == raw
    assert not RollupMark.objects.filter(project=p, since__lt=at(D2, 1, 8)).exists()


def test_a_run_consumes_only_the_marks_it_saw_and_keeps_watermarks(alice_project, make_usage):
    p = alice_project
    support(make_usage, p, 10)
    rollup_recent(project=p, now=at(D1, 12))
    # A run with an earlier clock never moves the watermark back.
    assert rollup_day(project=p, day=D1, until=at(D1, 11)) == 0
    assert RollupDay.objects.get(project=p, day=D1).complete_until == at(D1, 11, 58)
    # Marks of days never rolled up are dropped once old.
    old = RollupMark.objects.create(
        project=p, day=D1 - timedelta(days=10), since=at(D1, 0), created_at=at(D1, 0) - timedelta(days=2)
    )
    rollup_recent(project=p, now=at(D1, 12, 5))
    assert not RollupMark.objects.filter(pk=old.pk).exists()


def test_the_migration_marks_existing_rollups_complete(alice_project):
    migration = import_module("costs.migrations.0003_rollup_watermarks")
    alice_project.time_zone = "Europe/Paris"
    alice_project.save(update_fields=["time_zone"])
    RollupDay.objects.create(project=alice_project, day=D1, complete_until=at(D1, 0))
    migration.mark_rolled_days_complete(django_apps, None)
    assert RollupDay.objects.get(project=alice_project, day=D1).complete_until == at(D1, 23)  # Paris midnight


def test_dashboard_tabs_have_no_list_bullets(admin_client, alice_project):
    html = admin_client.get(reverse("admin:costs_dashboard", args=["margin"])).content.decode()
    assert '<ul class="costs-tabs">' in html
    assert ".costs-tabs > li { list-style: none;" in html


@pytest.mark.django_db(transaction=True)
def test_a_rollup_outside_a_transaction_reads_one_snapshot(alice_project, make_usage):
    """Outside an atomic block (as in the worker) the rollup runs REPEATABLE READ on PostgreSQL."""
    support(make_usage, alice_project, 10, request_hash="x")
    support(make_usage, alice_project, 10, 30, request_hash="x")
    assert rollup_recent(project=alice_project, now=at(D1, 12)) == 2
    assert RollupDay.objects.get(project=alice_project, day=D1).usage_rows == 2
    assert_agree(alice_project, D1, D1)
