"""How many decisions per second does the rate limiter make, in memory and in Redis?

    python bench/ratelimit.py [--seconds 2]

Times ``RateLimiter.try_acquire`` on one hot key (the worst case: every caller contends for
the same counter) with 1 and 8 threads, for:

* the memory backend (the embedded default, and Redis's fallback);
* the Redis backend (one Lua script per decision), each thread with its own connection as
  separate processes would have: ``REDIS_URL`` if set, else a private ``redis-server`` on a
  free port;
* the Redis backend with Redis down (a closed port): the degraded path every request takes
  during an outage.

The limit is set high enough never to refuse, so the figure is the cost of deciding. Prints
decisions/s and the median µs per decision per variant; the machine is shared, so compare the
ratios within one run.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from governance.dependencies import Dependency
from governance.ratelimit import MemoryRateLimitBackend, Rate, RateLimiter, RedisRateLimitBackend, redis_client

RATE = Rate(limit=1e12, period_s=1)  # never refuses: the bench measures the decision itself


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(make: Callable[[], RateLimiter], threads: int, seconds: float) -> tuple[float, float]:
    """Decisions per second across ``threads``, and the median µs of one decision."""
    counts = [0] * threads
    samples: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def work(i: int) -> None:
        limiter = make()
        limiter.try_acquire("hot", RATE)  # connect before the clock starts
        start.wait()
        n, mine = 0, samples[i]
        while not stop.is_set():
            began = time.perf_counter_ns()
            limiter.try_acquire("hot", RATE)
            if n % 16 == 0:
                mine.append((time.perf_counter_ns() - began) / 1000.0)
            n += 1
        counts[i] = n

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    return sum(counts) / elapsed, statistics.median([s for mine in samples for s in mine])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per variant (default 2)")
    args = parser.parse_args()
    logging.getLogger("governance.dependencies").setLevel(logging.CRITICAL)  # the outage is on purpose

    server: subprocess.Popen[bytes] | None = None
    url = os.environ.get("REDIS_URL")
    if not url and shutil.which("redis-server"):
        port = _free_port()
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.RedisError:
                time.sleep(0.05)
    try:
        memory = RateLimiter(MemoryRateLimitBackend())
        prefix = f"arbiter-bench:{uuid.uuid4().hex}:"
        dead = f"redis://127.0.0.1:{_free_port()}/0"
        outage = Dependency("bench-redis")
        variants: list[tuple[str, Callable[[], RateLimiter]]] = [("memory", lambda: memory)]
        if url:
            redis_url: str = url

            def shared() -> RateLimiter:
                return RateLimiter(RedisRateLimitBackend(redis_client(redis_url)), prefix=prefix)

            variants.append(("Redis (Lua script)", shared))
        variants.append(
            (
                "Redis down (per-process fallback)",
                lambda: RateLimiter(RedisRateLimitBackend(redis_client(dead), redis_dependency=outage)),
            )
        )
        print(f"rate limiter: try_acquire on one hot key, {args.seconds:g} s per variant")
        print(f"{'variant':<36} {'threads':>7} {'decisions/s':>12} {'median µs':>10}")
        memory_single = 0.0
        for name, make in variants:
            for threads in (1, 8):
                per_s, median = _run(make, threads, args.seconds)
                if name == "memory" and threads == 1:
                    memory_single = per_s
                ratio = f"  ({per_s / memory_single:.2f}x memory, 1 thread)" if memory_single else ""
                print(f"{name:<36} {threads:>7} {per_s:>12,.0f} {median:>10.1f}{ratio}")
        if not url:
            print("(no REDIS_URL and no redis-server: Redis variants skipped)")
    finally:
        if server is not None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
