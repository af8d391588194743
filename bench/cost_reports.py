"""How fast are the cost reports, over raw ledger rows and over the daily rollups?

    python bench/cost_reports.py                 # 1M usage rows, 30 days (a few minutes)
    python bench/cost_reports.py --rows 200000
    python bench/cost_reports.py --scale         # 100k -> 1M -> 10M rows (10M: COPY takes minutes)
    python bench/cost_reports.py --scale --raw-max 10000000   # raw timings at 10M too (slow)

Creates a throwaway PostgreSQL database (``--db``, default ``arbiter_bench_costs``, on the
server of ``DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/``), migrates it, loads
N usage rows spread over the last 30 days up to now (plus one outcome per 10 rows) with
``COPY``, rolls up the complete days and today up to the watermark (as the periodic tasks do),
then times each report over the 30-day window: raw (every day from the ledger) and via rollups
(rollups up to each day's watermark, the last minutes from the ledger, as the API does). The
database is dropped at the end (``--keep`` keeps it).

Data shape: 8 features (each served by one API key and one pipeline), 200 customers, 5 models,
10% retries, 8% failed first attempts, a request-hash pool a third of the rows so duplicates
occur, 1% unpriced calls.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

BENCH_DB = "arbiter_bench_costs"
FEATURES = ["support", "search", "summarise", "triage", "ads", "translate", "code", "agent"]
MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-x"),
          ("anthropic", "claude-3-5-haiku-x"), ("offline", "sim-large")]  # fmt: skip
STEPS = ["plan", "retrieve", "draft", "check"]


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "") or "postgres://postgres@127.0.0.1:5432/postgres"
    if not url.startswith("postgres"):
        sys.exit("bench/cost_reports.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    return url


def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def admin_exec(url: str, sql: str) -> None:
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def setup_django(url: str, db: str) -> None:
    os.environ["DATABASE_URL"] = with_db(url, db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(rows: int, seed: int = 1) -> tuple[Any, float]:
    """COPY ``rows`` usage rows and ``rows // 10`` outcomes into a fresh project; returns (project, seconds)."""
    from django.db import connection

    from costs.models import Outcome, UsageRecord
    from governance.models import ApiKey, Project
    from governance.services.api_keys import api_key_create
    from governance.services.projects import project_create

    with connection.cursor() as c:
        c.execute("TRUNCATE costs_usagerecord, costs_outcome, costs_usagedaily, costs_recomputedaily, "
                  "costs_outcomedaily, costs_rollupday, costs_rollupmark")  # fmt: skip
    Project.objects.filter(slug="bench").delete() if not UsageRecord.objects.exists() else None
    ApiKey.objects.filter(project__slug="bench").delete()
    project = Project.objects.filter(slug="bench").first() or project_create(slug="bench", name="Bench")
    keys = [api_key_create(project=project, name=f"svc-{f}", scopes="all").api_key.pk for f in FEATURES]
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=29)
    span = (now - start).total_seconds()
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(max(rows // 3, 1))]
    traces = max(rows // 4, 1)
    columns = ("project_id, api_key_id, source, client_id, occurred_at, recorded_at, feature, customer, pipeline, "
               "trace_id, run_id, step, provider, provider_kind, model, uncached_input_tokens, cache_read_tokens, "
               "cache_write_tokens, output_tokens, cost_nanos, cost_source, latency_ms, status, error_code, attempt, "
               "request_hash, simulated")  # fmt: skip
    t0 = time.perf_counter()
    with connection.cursor() as c, c.cursor.copy(f"COPY costs_usagerecord ({columns}) FROM STDIN") as copy:
        for _ in range(rows):
            f = rng.randrange(len(FEATURES))
            provider, model = MODELS[rng.randrange(len(MODELS))]
            attempt = 2 if rng.random() < 0.10 else 1
            roll = rng.random()
            status = "ok" if roll < 0.92 else "error" if roll < 0.96 else "retry" if roll < 0.99 else "cancelled"
            occurred = start + timedelta(seconds=rng.random() * span)
            trace = f"{rng.randrange(traces):032x}"
            copy.write_row((
                project.pk, keys[f], "ingest", "", occurred, occurred, FEATURES[f], f"cust-{rng.randrange(200)}",
                f"pipe-{f % 4}", trace, trace[:16], STEPS[rng.randrange(4)], provider, provider, model,
                rng.randrange(50, 4000), rng.randrange(0, 2000), 0, rng.randrange(10, 800),
                None if rng.random() < 0.01 else rng.randrange(10_000, 5_000_000),
                "reported", rng.randrange(100, 5000), status, "", attempt, hashes[rng.randrange(len(hashes))], False,
            ))  # fmt: skip
    outcome_columns = (
        "project_id, client_id, trace_id, run_id, kind, success, value_nanos, customer, feature, occurred_at, "
        "recorded_at"
    )
    with connection.cursor() as c, c.cursor.copy(f"COPY costs_outcome ({outcome_columns}) FROM STDIN") as copy:
        for i in range(rows // 10):
            occurred = start + timedelta(seconds=rng.random() * span)
            copy.write_row((
                project.pk, f"o{i}", f"{rng.randrange(traces):032x}", "", "resolved", rng.random() < 0.7,
                rng.randrange(0, 2_000_000_000), f"cust-{rng.randrange(200)}", FEATURES[rng.randrange(len(FEATURES))],
                occurred, occurred,
            ))  # fmt: skip
    with connection.cursor() as c:
        c.execute("ANALYZE costs_usagerecord; ANALYZE costs_outcome")
    assert Outcome.objects.exists()
    return project, time.perf_counter() - t0


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_reports(project: Any, *, raw: bool, repeat: int) -> dict[str, tuple[float | None, float]]:
    from costs import reports

    def suite(source: Any) -> dict[str, Callable[[], object]]:
        w = reports.ReportWindow.last_days(project, 30, source=source)
        return {
            "cost per outcome (feature)": lambda: reports.cost_per_outcome(w, group_by="feature"),
            "cost per outcome (customer)": lambda: reports.cost_per_outcome(w, group_by="customer"),
            "cost per outcome (day)": lambda: reports.cost_per_outcome(w, group_by="day"),
            "recompute": lambda: reports.recompute(w),
            "margin (customer)": lambda: reports.margin(w, group_by="customer"),
            "budget burn-down": lambda: reports.budget_burn_down(project, source=source),
            "missing prices": lambda: reports.missing_prices(w),
        }

    rolled, rawsuite = suite("auto"), suite("raw")
    return {name: (timed(rawsuite[name], 1) if raw else None, timed(rolled[name], repeat)) for name in rolled}


def add_budgets(project: Any) -> None:
    from decimal import Decimal

    from costs.models import Budget
    from costs.services.budgets import budget_save

    if not Budget.objects.filter(project=project).exists():
        budget_save(budget=Budget(project=project, name="monthly", limit_usd=Decimal(50_000)))
        budget_save(budget=Budget(project=project, name="support", scope="feature", scope_value="support",
                                  period="week", limit_usd=Decimal(5_000)))  # fmt: skip


def measure(rows: int, *, raw: bool, repeat: int) -> dict[str, Any]:
    from costs.services.rollups import rollup_daily, rollup_recent

    project, load_s = load(rows)
    add_budgets(project)
    t0 = time.perf_counter()
    days = rollup_daily(project=project, days_back=30)
    rollup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rollup_recent(project=project)  # today's partial day, built from scratch
    today_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rollup_recent(project=project)  # steady state: only rows since the last watermark
    again_s = time.perf_counter() - t0
    return {"rows": rows, "load_s": load_s, "rollup_s": rollup_s, "days": days, "today_s": today_s,
            "again_s": again_s, "reports": run_reports(project, raw=raw, repeat=repeat)}  # fmt: skip


def print_result(r: dict[str, Any]) -> None:
    print(f"\n{r['rows']:,} usage rows over 30 days: COPY {r['load_s']:.1f} s, "
          f"rollup of {r['days']} complete days {r['rollup_s']:.1f} s, today to the watermark "
          f"{r['today_s']:.2f} s, next incremental run {r['again_s']:.2f} s")  # fmt: skip
    print(f"{'report (30-day window)':<30} {'raw':>10} {'rollups':>10} {'speed-up':>9} {'< 1 s':>6}")
    for name, (raw_s, rolled_s) in r["reports"].items():
        raw_txt = f"{raw_s * 1000:8.0f}ms" if raw_s is not None else f"{'skipped':>10}"
        speed = f"{raw_s / rolled_s:8.1f}x" if raw_s is not None and rolled_s else f"{'':>9}"
        print(f"{name:<30} {raw_txt} {rolled_s * 1000:8.0f}ms {speed} {'yes' if rolled_s < 1 else 'NO':>6}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scale", action="store_true", help="100k, 1M and 10M rows (10M: several minutes)")
    parser.add_argument("--db", default=BENCH_DB, help=f"bench database name (default {BENCH_DB}; dropped)")
    parser.add_argument("--raw-max", type=int, default=1_000_000, help="skip raw timings above this many rows")
    parser.add_argument("--repeat", type=int, default=3, help="runs per rollup timing (median)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    url = server_url()
    admin_exec(url, f"DROP DATABASE IF EXISTS {args.db}")
    admin_exec(url, f"CREATE DATABASE {args.db}")
    try:
        setup_django(url, args.db)
        sizes = [100_000, 1_000_000, 10_000_000] if args.scale else [args.rows]
        results = []
        for n in sizes:
            results.append(measure(n, raw=n <= args.raw_max, repeat=args.repeat))
            print_result(results[-1])  # as soon as measured: 10M takes a while
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_exec(url, f"DROP DATABASE IF EXISTS {args.db}")

    if len(results) > 1:
        names = list(results[0]["reports"])
        for label, col in (("via rollups", 1), ("raw", 0)):
            print(f"\ngrowth {label} (ms):")
            print(f"{'report':<30} " + " ".join(f"{r['rows']:>12,}" for r in results))
            for name in names:
                cells = [r["reports"][name][col] for r in results]
                print(f"{name:<30} " + " ".join(f"{c * 1000:12.0f}" if c is not None else f"{'-':>12}" for c in cells))


if __name__ == "__main__":
    main()
