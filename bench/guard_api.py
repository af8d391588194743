"""End-to-end latency and throughput of ``POST /api/v1/guard/check`` under gunicorn.

    python bench/guard_api.py [--requests 2000] [--concurrency 8] [--workers 2]

Starts gunicorn (``--workers`` sync processes with threads) on a scratch database — the
PostgreSQL server named by ``DATABASE_URL`` (a throwaway database is created and dropped) or
else a temporary SQLite file — issues an API key for a fresh project with the ``default``
policy, then drives it from a thread pool of keep-alive HTTP clients in this process (the
load generator shares the machine's cores with the server: the figures are a floor). Every
check runs the full path: auth, trace context, policy lookup, the engine, and the decision
envelope appended to the project's hash chain. Prints a table per text size.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "you",
    "that",
    "it",
    "was",
    "for",
    "on",
    "are",
    "with",
    "they",
    "at",
    "be",
]


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _text(size: int, seed: int) -> str:
    rng = random.Random(seed)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:size]


def _scratch_database() -> tuple[str, Callable[[], object]]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parsed = urlparse(url)
        name = "arbiter_bench_guard"
        admin = [
            "psql",
            "-h",
            parsed.hostname or "127.0.0.1",
            "-p",
            str(parsed.port or 5432),
            "-U",
            parsed.username or "postgres",
            "-q",
        ]
        subprocess.run([*admin, "-c", f"DROP DATABASE IF EXISTS {name}", "-c", f"CREATE DATABASE {name}"], check=True)
        scratch = parsed._replace(path=f"/{name}").geturl()
        return scratch, lambda: subprocess.run([*admin, "-c", f"DROP DATABASE IF EXISTS {name}"], check=False)
    tmp = tempfile.mkdtemp(prefix="arbiter-bench-")
    return f"sqlite:///{tmp}/bench.sqlite3", lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8, help="also measured: 1 client")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--sizes", default="1024,4096")
    args = parser.parse_args()

    database_url, drop = _scratch_database()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "ARBITER_API_RATE": "100000000/min",
        "ARBITER_SPAN_BUFFER_MS": os.environ.get("ARBITER_SPAN_BUFFER_MS", "200"),  # the production default
        "DJANGO_SETTINGS_MODULE": "governance.settings",
    }
    env.pop("CELERY_BROKER_URL", None)
    python = sys.executable
    try:
        subprocess.run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        setup = (
            "from governance.services.projects import project_create;"
            "from governance.services.api_keys import api_key_create;"
            "p = project_create(slug='bench', name='bench');"
            "print(api_key_create(project=p, name='bench', scopes='guard:check').secret)"
        )
        key = (
            subprocess.run(
                [python, "manage.py", "shell", "-c", setup],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = _free_port()
        server = subprocess.Popen(
            [python, "-m", "gunicorn", "-c", "gunicorn.conf.py", "governance.wsgi", "--workers", str(args.workers),
             "--threads", str(args.threads), "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        try:
            _run(port, key, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        drop()


def _run(port: int, key: str, args: argparse.Namespace) -> None:
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("gunicorn did not start")
        time.sleep(0.2)

    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"guard check API: gunicorn {args.workers} workers x {args.threads} threads, {database}, "
          f"{args.concurrency} concurrent clients, {args.requests} requests per size, default policy")  # fmt: skip
    print(
        f"{'text':>8} {'clients':>8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        texts = [_text(size, seed) for seed in range(64)]
        for concurrency in sorted({1, args.concurrency}):
            _measure(base, headers, texts, concurrency, args.requests, size)


def _measure(base: str, headers: dict[str, str], texts: list[str], concurrency: int, requests: int, size: int) -> None:
    clients = [httpx.Client(base_url=base, headers=headers, timeout=30) for _ in range(concurrency)]
    for client in clients:  # warm up connections and the compiled-policy cache in every worker
        for _ in range(5):
            client.post("/api/v1/guard/check", json={"stage": "input", "text": texts[0]})

    def one(i: int) -> tuple[float, int]:
        client = clients[i % len(clients)]
        started = time.perf_counter()
        response = client.post("/api/v1/guard/check", json={"stage": "input", "text": texts[i % len(texts)]})
        return (time.perf_counter() - started) * 1000, response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, range(requests)))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    latencies = sorted(ms for ms, _ in results)
    errors = sum(1 for _, status in results if status != 200)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{size:>8} {concurrency:>8} {requests / elapsed:>8.0f} {q[49]:>8.2f} {q[89]:>8.2f} {q[98]:>8.2f} "
        f"{latencies[-1]:>8.2f} {errors:>7}"
    )


if __name__ == "__main__":
    main()
