"""What does provenance cost?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/arbiter_bench python bench/provenance.py

1. The request path: three gunicorn servers on this database: no request spans
   (``ARBITER_REQUEST_SPANS=0``), one span INSERT inside each request (the dev default), and
   spans handed to the background batch writer (``ARBITER_SPAN_BUFFER_MS=200``, the production
   default), all serving
   ``GET /api/v1/whoami`` with a real API key over real HTTP. Per-request latency comes from
   one keep-alive client alternating chunks between the servers (so drift hits both alike);
   requests per second from several client processes hammering one server at a time.
2. The ledger: ``envelope_append`` (hash chain, per-project lock) inserts per second on
   PostgreSQL with 1 writer, with N writer processes on one project (they queue on the
   chain lock), and with N writers on N projects; then ``verify_ledger`` over what was written.

Point it at a scratch database: it migrates it and leaves its rows (the ledger is append-only).
Without ``DATABASE_URL`` part 1 runs on a SQLite file under var/ and part 2 is skipped.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK = 100
# Spawned, not forked: a forked child would share (and corrupt) the parent's database connection.
MP = multiprocessing.get_context("spawn")


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _prepare(database_url: str) -> tuple[str, str]:
    """Migrate, then a fresh project with a read key. Returns (project slug, key)."""
    _setup_django(database_url)
    from django.core.management import call_command

    from governance.services.api_keys import api_key_create
    from governance.services.projects import project_create

    call_command("migrate", verbosity=0, interactive=False)
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    project = project_create(slug=slug, name="provenance bench")
    key = api_key_create(project=project, name="bench", scopes=["envelopes:read"]).secret
    return slug, key


def _start_server(port: int, database_url: str, variant: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ARBITER_REQUEST_SPANS": "0" if variant == "spans off" else "1",
        "ARBITER_SPAN_BUFFER_MS": "200" if variant == "spans buffered" else "0",
        "ARBITER_API_RATE": "10000000/min",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    cmd = [gunicorn, "governance.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1", "-k", "gthread"]
    cmd += ["--threads", "4", "--log-level", "warning"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def _latencies(urls: dict[str, str], key: str, requests: int) -> dict[str, list[float]]:
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    clients = {name: httpx.Client(base_url=url, headers=headers) for name, url in urls.items()}
    samples: dict[str, list[float]] = {name: [] for name in urls}
    for client in clients.values():  # warm up: connections, key cache, first span insert
        for _ in range(50):
            client.get("/api/v1/whoami").raise_for_status()
    for _ in range(requests // CHUNK):
        for name, client in clients.items():
            for _ in range(CHUNK):
                started = time.perf_counter()
                client.get("/api/v1/whoami").raise_for_status()
                samples[name].append((time.perf_counter() - started) * 1000)
    for client in clients.values():
        client.close()
    return samples


def _hammer(url: str, key: str, seconds: float, out: multiprocessing.Queue[int]) -> None:
    import httpx

    done = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            client.get("/api/v1/whoami").raise_for_status()
            done += 1
    out.put(done)


def _throughput(url: str, key: str, clients: int, seconds: float) -> float:
    queue: multiprocessing.Queue[int] = MP.Queue()
    procs = [MP.Process(target=_hammer, args=(url, key, seconds, queue)) for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def _span_count(slug: str) -> int:
    from governance.models import Span

    return Span.objects.filter(project__slug=slug).count()


def _append_many(
    database_url: str, slug: str, count: int, start_at: float, out: multiprocessing.Queue[tuple[float, float]]
) -> None:
    _setup_django(database_url)
    from governance.models import Project
    from governance.services.envelopes import envelope_append

    project = Project.objects.get(slug=slug)
    time.sleep(max(0.0, start_at - time.time()))  # all writers start together, after Django is up
    started = time.time()
    for i in range(count):
        envelope_append(
            project=project,
            decision_type="guard_check",
            outcome="allowed",
            input={"text": f"prompt {i}"},
            output="ok",
            versions={"policy": {"slug": "default", "version": 1}},
            verdicts=[{"tier": "rules", "verdict": "allow"}],
            latency_ms=1.5,
        )
    out.put((started, time.time()))


def _inserts(database_url: str, writers: int, per_writer: int, projects: int) -> tuple[float, list[str]]:
    from governance.services.projects import project_create

    slugs = [f"bench-ledger-{uuid.uuid4().hex[:8]}" for _ in range(projects)]
    for slug in slugs:
        project_create(slug=slug, name="ledger bench")
    queue: multiprocessing.Queue[tuple[float, float]] = MP.Queue()
    start_at = time.time() + 3.0
    procs = [
        MP.Process(target=_append_many, args=(database_url, slugs[n % projects], per_writer, start_at, queue))
        for n in range(writers)
    ]
    for p in procs:
        p.start()
    spans = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return writers * per_writer / elapsed, slugs


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="latency samples per variant")
    parser.add_argument("--seconds", type=float, default=8.0, help="throughput run length per variant and round")
    parser.add_argument("--clients", type=int, default=4, help="client processes for the throughput runs")
    parser.add_argument("--envelopes", type=int, default=1500, help="envelopes per writer")
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    postgres = database_url.startswith(("postgres://", "postgresql://"))
    if not postgres:
        print("DATABASE_URL is not a PostgreSQL URL: the request bench runs on a scratch SQLite file and the")
        print("envelope-insert bench is skipped. For the real figures:")
        print("  DATABASE_URL=postgres://postgres@127.0.0.1:5432/arbiter_bench python bench/provenance.py\n")
        scratch = Path(tempfile.mkdtemp(prefix="arbiter-bench-")) / "bench.sqlite3"
        database_url = f"sqlite:///{scratch}"
    os.environ.pop("REDIS_URL", None)  # per-process throttle counters: no Redis round trip in either variant
    slug, key = _prepare(database_url)

    ports = {"spans off": 18731, "spans inline": 18732, "spans buffered": 18733}
    servers = {name: _start_server(port, database_url, name) for name, port in ports.items()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        for name, proc in servers.items():
            _wait_ready(urls[name], proc)
        spans_before = _span_count(slug)
        time.sleep(0.5)
        latency = _latencies(urls, key, args.requests)
        rps: dict[str, list[float]] = {name: [] for name in urls}
        for _ in range(2):  # two rounds, alternating, so drift spreads over both
            for name, url in urls.items():
                rps[name].append(_throughput(url, key, args.clients, args.seconds))
        time.sleep(0.5)  # the buffered server's last batch
        spans_written = _span_count(slug) - spans_before
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(timeout=10)

    db = "PostgreSQL" if postgres else "SQLite"
    print(f"GET /api/v1/whoami over HTTP, gunicorn gthread (1 worker x 4 threads), {db}, {os.cpu_count()} CPUs")
    print(f"{'variant':<16} {'median ms':>10} {'p99 ms':>10} {'req/s':>10} {'vs off':>20}   ({args.clients} clients)")
    off, rps_off = statistics.median(latency["spans off"]), statistics.mean(rps["spans off"])
    for name in urls:
        med, p99, rate = statistics.median(latency[name]), _pct(latency[name], 0.99), statistics.mean(rps[name])
        versus = f"{med - off:+.3f} ms {100 * (rate / rps_off - 1):+.1f}%" if name != "spans off" else ""
        print(f"{name:<16} {med:>10.3f} {p99:>10.3f} {rate:>10.0f} {versus:>20}")
    print(f"spans written by the inline and buffered servers: {spans_written}")

    if not postgres:
        print("\nenvelope inserts/s: skipped (needs PostgreSQL: set DATABASE_URL=postgres://...)")
        return
    from governance.models import Project
    from governance.services.envelopes import ledger_verify

    print(f"\nenvelope_append on PostgreSQL (hash chain, per-project lock), {args.envelopes} per writer")
    print(f"{'writers':<28} {'inserts/s':>10} {'chain':>8}")
    runs = [("1 writer, 1 project", 1, 1), (f"{args.writers} writers, 1 project", args.writers, 1)]
    runs.append((f"{args.writers} writers, {args.writers} projects", args.writers, args.writers))
    for label, writers, projects in runs:
        rate, slugs = _inserts(database_url, writers, args.envelopes, projects)
        ok = all(r.ok for s in slugs for r in ledger_verify(project=Project.objects.get(slug=s), alert=False))
        print(f"{label:<28} {rate:>10.0f} {'verifies' if ok else 'BROKEN':>8}")


if __name__ == "__main__":
    main()
