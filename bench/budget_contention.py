"""How many budget reservations per second does one hard budget admit under contention?

    python bench/budget_contention.py [--seconds 5] [--spenders 1,8,32]

Creates a throwaway PostgreSQL database (``arbiter_bench_budget`` on the server of
``DATABASE_URL``), one project with one hard monthly budget, and runs N spender threads (each
with its own database connection) that loop reserve -> settle against it for a few seconds.
Every reservation updates the same counter row, so this measures the cost of the atomic
conditional UPDATE under row-lock contention. A second pass uses a budget too small for all
the holds, checking that the limit still holds (refusals are the typed error, spend <= limit).
A third starts with the $1 budget full of holds that have already expired (their spenders
died) and no sweeper running: admission must stop counting them at their expiry.
The database is ``arbiter_bench_budget_<pid>``, so concurrent runs do not collide.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cost_reports import admin_exec, server_url, with_db  # type: ignore[import-not-found]

BENCH_DB = f"arbiter_bench_budget_{os.getpid()}"


def run(spenders: int, seconds: float, limit: str, *, expired_holds: bool = False) -> dict[str, float]:
    from django.db import connection
    from django.utils import timezone

    from costs.errors import BudgetExceededError
    from costs.models import Budget, BudgetCounter
    from costs.pricing import usd_to_nanos
    from costs.services.budgets import budget_counter_current, budget_reserve, budget_save, budget_settle
    from governance.models import Project
    from governance.services.projects import project_create

    slug = f"bench-{spenders}-{limit}-{'expired' if expired_holds else 'clean'}"
    project = Project.objects.filter(slug=slug).first() or project_create(slug=slug, name=slug)
    budget = budget_save(budget=Budget(project=project, name="hard", limit_usd=Decimal(limit)))
    budget_counter_current(budget=budget)
    if expired_holds:
        past = timezone.now() - timedelta(minutes=10)
        for _ in range(10):
            budget_reserve(project=project, estimate_usd=Decimal(limit) / 10, ttl_seconds=60, now=past)
    latencies: list[list[float]] = [[] for _ in range(spenders)]
    refused = [0] * spenders
    barrier = threading.Barrier(spenders + 1)
    stop = threading.Event()

    def spender(i: int) -> None:
        try:
            barrier.wait()
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    r = budget_reserve(project=project, estimate_usd=Decimal("0.01"))
                except BudgetExceededError:
                    refused[i] += 1
                    continue
                latencies[i].append(time.perf_counter() - t0)
                budget_settle(reservation_id=r.pk, actual_usd=Decimal("0.008"))
        finally:
            connection.close()

    threads = [threading.Thread(target=spender, args=(i,)) for i in range(spenders)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    all_lat = sorted(x for lat in latencies for x in lat)
    counter = BudgetCounter.objects.get(budget=budget)
    assert counter.settled_nanos <= usd_to_nanos(limit), "a hard budget overshot its limit"
    if not expired_holds:
        assert counter.held_nanos == 0
    return {
        "admitted": len(all_lat),
        "refused": sum(refused),
        "per_s": len(all_lat) / elapsed,
        "p50_ms": statistics.median(all_lat) * 1000 if all_lat else 0.0,
        "p99_ms": all_lat[int(len(all_lat) * 0.99)] * 1000 if all_lat else 0.0,
        "spent": float(counter.settled_nanos) / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--spenders", default="1,8,32")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = server_url()
    admin_exec(url, f"DROP DATABASE IF EXISTS {BENCH_DB}")
    admin_exec(url, f"CREATE DATABASE {BENCH_DB}")
    rows = []
    try:
        os.environ["DATABASE_URL"] = with_db(url, BENCH_DB)
        os.environ["DATABASE_CONN_MAX_AGE"] = "0"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        for n in [int(x) for x in args.spenders.split(",")]:
            rows.append(("ample", n, run(n, args.seconds, "1000000")))
        for n in [int(x) for x in args.spenders.split(",")]:
            rows.append(("tight $1", n, run(n, min(args.seconds, 2.0), "1")))
        for n in [int(x) for x in args.spenders.split(",")]:
            rows.append(("expired", n, run(n, min(args.seconds, 2.0), "1", expired_holds=True)))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_exec(url, f"DROP DATABASE IF EXISTS {BENCH_DB}")
    print(f"\none hard budget, reserve $0.01 then settle $0.008 in a loop ({args.seconds:.0f} s per ample row)")
    print("expired: the $1 budget starts full of holds whose spenders died 10 minutes ago; no sweeper runs")
    header = ("spenders", "reserve/s", "p50 ms", "p99 ms", "admitted", "refused", "spent $")
    print(f"{'budget':<9} " + " ".join(f"{h:>9}" for h in header))
    for label, n, r in rows:
        print(f"{label:<9} {n:>9} {r['per_s']:>9.0f} {r['p50_ms']:>9.2f} {r['p99_ms']:>9.2f} {r['admitted']:>9.0f} "
              f"{r['refused']:>9.0f} {r['spent']:>9.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
