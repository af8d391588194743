"""What does the governed call add on top of the bare model call, and where does the time go?

    python bench/governed_call.py [--calls 300]

Creates a throwaway PostgreSQL database (``arbiter_bench_call`` on the server of
``DATABASE_URL``), one project with a hard monthly budget, a priced model on a zero-latency
HTTP server in a separate process (the one of ``bench/llm_client.py``), and a model alias on
it. Then times, interleaved in chunks so drift spreads evenly:

* **bare**: the shared client's ``complete`` on the same endpoint, with the costs ledger
  receiver writing the usage row (the model call as Arbiter made it before the governed call);
* **governed, no guards**: ``governed_call`` (alias resolution, reservation, the call,
  settlement, one envelope);
* **governed, default guards**: the same with the ``default`` policy on input and output.

Prints median and p99 per variant, the ratio of medians to the bare call, and the median
time of each step of the governed call (from ``GovernedResult.timings_ms``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cost_reports import admin_exec, server_url, setup_django  # type: ignore[import-not-found]
from llm_client import _serve  # type: ignore[import-not-found]

BENCH_DB = "arbiter_bench_call"
KEY_ENV = "ARBITER_PROVIDER_BENCH_KEY"
CHUNK = 25
STEPS = ("resolve", "input_guard", "reserve", "quota", "model", "settle", "output_guard", "envelope")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls per variant (default 300)")
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    url = server_url()
    admin_exec(url, f"DROP DATABASE IF EXISTS {BENCH_DB}")
    admin_exec(url, f"CREATE DATABASE {BENCH_DB}")
    context = multiprocessing.get_context("spawn")
    ready: Queue[int] = context.Queue()
    server = context.Process(target=_serve, args=(ready,), daemon=True)
    server.start()
    try:
        port = ready.get(timeout=30)
        os.environ[KEY_ENV] = "bench-key"
        setup_django(url, BENCH_DB)
        run(f"http://127.0.0.1:{port}/v1", args.calls, args.warmup)
    finally:
        server.terminate()
        server.join(timeout=5)
        from django.db import connections

        connections.close_all()
        admin_exec(url, f"DROP DATABASE IF EXISTS {BENCH_DB}")


def run(base_url: str, calls: int, warmup: int) -> None:
    from costs.choices import BudgetMode
    from costs.models import Budget
    from costs.services.budgets import budget_save
    from costs.services.prices import price_create
    from governance.choices import ProviderKind
    from governance.llm import CallContext, ChatMessage, ChatRequest, get_client
    from governance.models import ModelEndpoint, Provider
    from governance.services.projects import project_create
    from governance.services.provider_calls import provider_config
    from orchestration.services import governed_call
    from orchestration.services.aliases import alias_create

    project = project_create(slug="bench", name="Bench")
    provider = Provider.objects.create(name="bench", kind=ProviderKind.OPENAI, base_url=base_url, api_key_env=KEY_ENV)
    model = ModelEndpoint.objects.create(provider=provider, name="bench-model")
    price_create(provider="bench", model="bench-model", input_per_mtok=Decimal("1"), output_per_mtok=Decimal("2"))
    budget_save(budget=Budget(project=project, name="bench", limit_usd=Decimal("1000000"), mode=BudgetMode.HARD))
    alias_create(project=project, name="bench-chat", endpoints=[(model, 1, 1)], max_tokens=16)
    messages = [{"role": "user", "content": "Say ok. My order number is 1234 and I would like to know where it is."}]
    request = ChatRequest(
        model="bench-model",
        messages=tuple(ChatMessage("user", m["content"]) for m in messages),  # type: ignore[arg-type]
        max_tokens=16,
        metadata=CallContext(project_id=project.pk, feature="bench"),
    )
    config = provider_config(provider)
    client = get_client()
    steps: dict[str, dict[str, list[float]]] = {}

    def governed(policy: str | None = None) -> Callable[[], Any]:
        def once() -> Any:
            return governed_call(
                project=project, alias="bench-chat", decision_type="llm_call", messages=messages, feature="bench",
                input_policy=policy, output_policy=policy,
            )  # fmt: skip

        return once

    variants: dict[str, Callable[[], Any]] = {
        "bare: client.complete + ledger row": lambda: client.complete(config, request),
        "governed_call, no guards": governed(),
        "governed_call, default guards in+out": governed("default"),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for name, fn in variants.items():
        for _ in range(warmup):
            fn()
        steps[name] = {step: [] for step in STEPS}
    done = 0
    wall = time.perf_counter()
    while done < calls:
        chunk = min(CHUNK, calls - done)
        for name, fn in variants.items():
            for _ in range(chunk):
                started = time.perf_counter()
                result = fn()
                samples[name].append((time.perf_counter() - started) * 1000.0)
                timings = getattr(result, "timings_ms", None)
                if timings is not None:
                    for step in STEPS:
                        steps[name][step].append(timings.get(step, 0.0))
        done += chunk

    bare = statistics.median(samples["bare: client.complete + ledger row"])
    print(f"Governed call overhead: {calls} calls per variant, zero-latency local server, PostgreSQL")
    print(f"{'variant':<40} {'median ms':>10} {'p99 ms':>8} {'+ms':>7} {'vs bare':>8}")
    for name, values in samples.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(f"{name:<40} {median:>10.2f} {p99:>8.2f} {median - bare:>+7.2f} {median / bare:>7.2f}x")
    print()
    print("where the time goes (median ms per step; the rest is argument checks and bookkeeping)")
    names = [n for n in variants if n != "bare: client.complete + ledger row"]
    print(f"{'step':<14}" + "".join(f"{n[15:]:>28}" for n in names))
    for step in STEPS:
        row = "".join(f"{statistics.median(steps[n][step]) if steps[n][step] else 0.0:>28.3f}" for n in names)
        print(f"{step:<14}{row}")
    print(f"wall time {time.perf_counter() - wall:.1f} s")


if __name__ == "__main__":
    main()
