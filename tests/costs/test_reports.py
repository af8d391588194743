"""Reports on a small hand-computed fixture, and raw vs rollup agreement."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from costs import reports
from costs.models import RollupDay, UsageDaily
from costs.pricing import usd_to_nanos
from costs.services.rollups import rollup_daily, rollup_recent
from costs.tasks import rollup_daily as rollup_daily_task
from tests.costs.conftest import D1, D2, at

pytestmark = pytest.mark.django_db


def window(project, **kw):
    return reports.ReportWindow(project=project, start=D1, end=D2, **kw)


def test_cost_per_outcome_by_feature(fixture_rows):
    report = reports.cost_per_outcome(window(fixture_rows), group_by="feature")
    rows = {r["feature"]: r for r in report["rows"]}
    assert rows["support"]["cost_usd"] == "4.500000"
    assert rows["support"]["successful_outcomes"] == 1
    assert rows["support"]["cost_per_outcome"] == "4.500000"
    assert rows["support"]["no_outcome_cost_usd"] == "3.000000"  # t2 failed, t3's outcome failed
    assert rows["search"]["cost_per_outcome"] == "3.000000"
    assert rows["search"]["unpriced_calls"] == 1
    assert report["totals"]["cost_per_outcome"] == "3.750000"


def test_cost_per_outcome_by_day_and_filtered(fixture_rows):
    by_day = reports.cost_per_outcome(window(fixture_rows), group_by="day")["rows"]
    assert [(r["day"], r["cost_usd"], r["successful_outcomes"]) for r in by_day] == [
        ("2025-03-01", "4.500000", 1),
        ("2025-03-02", "3.000000", 1),
    ]
    acme = reports.cost_per_outcome(window(fixture_rows, customer="acme"), group_by="customer")["rows"]
    assert acme == [
        {"customer": "acme", "cost_usd": "3.500000", "calls": 3, "unpriced_calls": 0, "successful_outcomes": 1,
         "outcomes": 1, "cost_per_outcome": "3.500000", "no_outcome_cost_usd": "2.000000"}
    ]  # fmt: skip


def test_recompute(fixture_rows):
    report = reports.recompute(window(fixture_rows))
    assert report["totals"] == {
        "cost_usd": "7.500000", "retry_usd": "0.500000", "duplicate_usd": "1.000000", "failed_usd": "2.000000",
        "recompute_usd": "3.500000", "recompute_rate": 0.4667,
    }  # fmt: skip
    assert report["rows"][1]["recompute_usd"] == "0.000000"
    top = report["top_sources"][0]
    assert (top["pipeline"], top["step"], top["recompute_usd"]) == ("triage", "classify", "2.000000")


def test_margin(fixture_rows):
    report = reports.margin(window(fixture_rows), group_by="customer")
    assert [(r["customer"], r["value_usd"], r["cost_usd"], r["margin_usd"]) for r in report["rows"]] == [
        ("beta", "1.000000", "4.000000", "-3.000000"),
        ("acme", "5.000000", "3.500000", "1.500000"),
    ]
    assert report["negative"] == ["beta"]


def test_missing_prices(fixture_rows):
    rows = reports.missing_prices(window(fixture_rows))["rows"]
    assert [(r["provider"], r["model"], r["calls"]) for r in rows] == [("openai", "mystery", 1)]


def _all_reports(project, source):
    w = window(project, source=source)
    return {
        "cpo_feature": reports.cost_per_outcome(w, group_by="feature"),
        "cpo_customer": reports.cost_per_outcome(w, group_by="customer"),
        "cpo_day": reports.cost_per_outcome(w, group_by="day"),
        "recompute": reports.recompute(w),
        "margin": reports.margin(w, group_by="feature"),
        "filtered": reports.cost_per_outcome(window(project, source=source, feature="support", pipeline="triage")),
        "missing": reports.missing_prices(w),
    }


def test_rollups_agree_with_raw_rows_on_the_fixture(fixture_rows):
    raw = _all_reports(fixture_rows, "raw")
    assert rollup_daily(project=fixture_rows, start=D1, end=D2) == 2
    assert set(RollupDay.objects.values_list("day", flat=True)) == {D1, D2}
    assert _all_reports(fixture_rows, "auto") == raw


def test_rollups_agree_with_raw_rows_on_random_data(alice_project, make_usage, make_outcome):
    rng = random.Random(7)
    start = D1
    for _ in range(400):
        when = at(start, 0) + timedelta(minutes=rng.randrange(5 * 24 * 60))
        trace = f"t{rng.randrange(120)}"
        make_usage(
            alice_project,
            cost=None if rng.random() < 0.05 else rng.randrange(1, 10**7),
            occurred_at=when,
            feature=rng.choice(["support", "search", "ads"]),
            customer=rng.choice(["acme", "beta", "gamma", ""]),
            pipeline=rng.choice(["triage", ""]),
            step=rng.choice(["a", "b"]),
            trace_id=trace,
            request_hash=f"h{rng.randrange(60)}",
            attempt=rng.choice([1, 1, 1, 2]),
            status=rng.choice(["ok", "ok", "ok", "error", "cancelled", "retry"]),
        )
    for i in range(60):
        make_outcome(alice_project, occurred_at=at(start, 0) + timedelta(minutes=rng.randrange(5 * 24 * 60)),
                     trace_id=f"t{i * 2}", success=rng.random() < 0.7, value=rng.randrange(10**8),
                     feature=rng.choice(["support", "search"]), customer=rng.choice(["acme", "beta"]))  # fmt: skip
    w = {"project": alice_project, "start": D1, "end": D1 + timedelta(days=5)}
    raw = [
        reports.recompute(reports.ReportWindow(**w, source="raw")),
        reports.margin(reports.ReportWindow(**w, source="raw")),
    ]
    rollup_daily(project=alice_project, start=D1, end=D1 + timedelta(days=5))
    rolled = [reports.recompute(reports.ReportWindow(**w)), reports.margin(reports.ReportWindow(**w))]
    assert rolled == raw
    assert UsageDaily.objects.exists()


def test_late_usage_unmarks_a_rolled_day_so_reports_stay_right(fixture_rows, alice):
    rollup_daily(project=fixture_rows, start=D1, end=D2)
    late = {"client_id": "late", "provider": "openai", "model": "gpt-4o", "input_tokens": 1, "output_tokens": 1,
            "cost_usd": "10", "feature": "support", "occurred_at": "2025-03-01T12:00:00Z"}  # fmt: skip
    assert alice.client().post("/api/v1/usage", [late], format="json").status_code == 201
    assert reports.ReportWindow(project=fixture_rows, start=D1, end=D2).split()[0] == [D2]  # D1 stale
    assert _all_reports(fixture_rows, "auto") == _all_reports(fixture_rows, "raw")
    assert rollup_recent(project=fixture_rows) >= 1  # rebuilds the stale day
    assert reports.ReportWindow(project=fixture_rows, start=D1, end=D2).split() == ([D1, D2], None)
    assert _all_reports(fixture_rows, "auto") == _all_reports(fixture_rows, "raw")
    rows = {r["feature"]: r for r in reports.cost_per_outcome(window(fixture_rows))["rows"]}
    assert rows["support"]["cost_usd"] == "14.500000"


def test_rollup_task_and_command_skip_today(alice_project, make_usage):
    make_usage(alice_project, cost=5, occurred_at=datetime.now(UTC))
    assert rollup_daily_task.delay(days_back=2).get() == 2
    assert not RollupDay.objects.filter(day__gte=datetime.now(UTC).date()).exists()
    call_command("costs_rollup", "--project", "alice", "--days", "1")
    call_command("costs_rollup", "--project", "alice", "--recent")
    assert RollupDay.objects.filter(day=datetime.now(UTC).date()).exists()  # today, up to the watermark


def test_budget_burn_down_forecasts_linearly(alice_project, make_budget, make_usage):
    from costs.choices import BudgetPeriod

    budget = make_budget(alice_project, "100", period=BudgetPeriod.TOTAL, name="all time")
    now = datetime.now(UTC)
    make_usage(alice_project, cost=usd_to_nanos(7), occurred_at=now - timedelta(days=2))
    make_usage(alice_project, cost=usd_to_nanos(3), occurred_at=now)
    month = make_budget(alice_project, "10", period=BudgetPeriod.MONTH, name="monthly")
    raw = reports.budget_burn_down(alice_project, source="raw")
    rows = {r["budget"]: r for r in raw["rows"]}
    assert rows["all time"]["spent_usd"] == "10.000000"
    assert rows["all time"]["forecast_usd"] is None
    assert rows["all time"]["budget_id"] == budget.pk
    monthly = rows["monthly"]
    assert monthly["budget_id"] == month.pk
    assert Decimal(monthly["spent_usd"]) <= 10
    if monthly["forecast_usd"] is not None:
        assert Decimal(monthly["forecast_usd"]) >= Decimal(monthly["spent_usd"])
    rollup_daily(project=alice_project, days_back=5)
    auto = reports.budget_burn_down(alice_project)
    for r in (*raw["rows"], *auto["rows"]):
        r.pop("forecast_usd"), r.pop("forecast_pct"), r.pop("will_exceed")  # depend on the clock
    assert auto["rows"] == raw["rows"]
