"""End-to-end latency and throughput of ``POST /api/v1/guard/check`` under gunicorn, and the
engine passes each check costs; optionally against an older version of the code in the same run.

    python bench/guard_api.py [--requests 2000] [--concurrency 8] [--workers 2] [--baseline REF]

Starts gunicorn (``--workers`` processes with threads, ``gunicorn.conf.py``) on a scratch
database — the PostgreSQL server named by ``DATABASE_URL`` (a throwaway database per server,
dropped afterwards) or else a temporary SQLite file — issues an API key for a fresh project
(content stored "redacted", the default) with the ``default`` policy and a ``json`` policy (one
json_schema rule), then drives it from a thread pool of keep-alive HTTP clients in this process
(the load generator shares the machine's cores with the server: the figures are a floor). Every
check runs the full path: auth, trace context, policy lookup, the engine, and the decision
envelope appended to the project's hash chain.

Besides wall-clock figures (which on a shared machine move with everything else running on it),
each row gives the server's CPU time per request (user + system time of the gunicorn processes,
read from ``/proc`` before and after): far less sensitive to other load, so the better figure
for before/after ratios on a busy machine.

``--baseline REF`` also runs the code at git ref REF (exported with ``git archive`` into a
temporary directory, run with this virtualenv) on its own database and port, and measures both
servers round by round on the same cases, so the before/after ratio comes from one run on one
machine. Engine passes per check are counted in a ``manage.py shell`` of each version, by
wrapping the engine's tier-1 scan (every engine run with rules scans the text once there).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["the", "of", "and", "to", "in", "is", "you", "that", "it", "was", "for", "on", "are", "with", "they", "at"]
JSON_SCHEMA = {
    "type": "object",
    "required": ["answer", "confidence"],
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "citations": {"type": "array", "items": {"type": "string", "pattern": "^DOC-[0-9]{4,8}$"}},
    },
}

SETUP = """
from governance.services.projects import project_create
from governance.services.api_keys import api_key_create
from guardrails.services import policy_create
p = project_create(slug='bench', name='bench')
policy_create(project=p, slug='json', name='json', rules=[{'name': 'shape', 'kind': 'json_schema',
    'stage': 'output', 'action': 'block', 'config': {'schema': SCHEMA}}])
print(api_key_create(project=p, name='bench', scopes='guard:check').secret)
"""

PASSES = """
import json
import guardrails.engine.engine as engine
from governance.models import Project
from guardrails.services import check
calls = []
original = engine._tier_rules
def counting(*args, **kwargs):
    calls.append(1)
    return original(*args, **kwargs)
engine._tier_rules = counting
project = Project.objects.get(slug='bench')
result = {}
for name, stage, policy, text in json.loads(CASES):
    check(project=project, policy_slug=policy, stage=stage, text=text)  # compile outside the count
    calls.clear()
    for _ in range(20):
        check(project=project, policy_slug=policy, stage=stage, text=text)
    result[name] = len(calls) / 20
print(json.dumps(result))
"""


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _text(size: int, seed: int, *, pii: bool = False) -> str:
    rng = random.Random(seed)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < size:
        if pii and rng.random() < 0.02:
            words.append(f"{rng.choice(WORDS)}.{rng.choice(WORDS)}@example.com")
        else:
            words.append(rng.choice(WORDS))
    return " ".join(words)[:size]


def _json_output(seed: int) -> str:
    rng = random.Random(seed)
    citations = [f"DOC-{rng.randint(1000, 99999)}" for _ in range(20)]
    return json.dumps(
        {"answer": " ".join(rng.choice(WORDS) for _ in range(120)), "confidence": 0.8, "citations": citations}
    )


@dataclass(frozen=True)
class Case:
    name: str
    stage: str
    policy: str
    texts: tuple[str, ...]


def _cases(sizes: list[int]) -> list[Case]:
    cases = [Case(f"input {s // 1024} KB", "input", "default", tuple(_text(s, n) for n in range(32))) for s in sizes]
    cases.append(Case("output 1 KB + e-mails", "output", "default", tuple(_text(1024, n, pii=True) for n in range(32))))
    cases.append(Case("output JSON, json_schema", "output", "json", tuple(_json_output(n) for n in range(32))))
    return cases


def _scratch_database(label: str) -> tuple[str, Callable[[], object]]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parsed = urlparse(url)
        name = f"arbiter_bench_guard_{label}"
        admin = ["psql", "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432),
                 "-U", parsed.username or "postgres", "-q"]  # fmt: skip
        subprocess.run([*admin, "-c", f"DROP DATABASE IF EXISTS {name}", "-c", f"CREATE DATABASE {name}"], check=True)
        scratch = parsed._replace(path=f"/{name}").geturl()
        return scratch, lambda: subprocess.run([*admin, "-c", f"DROP DATABASE IF EXISTS {name}"], check=False)
    tmp = tempfile.mkdtemp(prefix="arbiter-bench-")
    return f"sqlite:///{tmp}/bench.sqlite3", lambda: shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Server:
    """One version of the code, on its own database and port."""

    label: str
    tree: Path
    args: argparse.Namespace
    env: dict[str, str] = field(default_factory=dict)
    key: str = ""
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    cleanups: list[Callable[[], object]] = field(default_factory=list)

    def start(self) -> None:
        database_url, drop = _scratch_database(self.label)
        self.cleanups.append(drop)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(self.tree),  # before the editable install's finder: this tree's code
            "LOG_LEVEL": "WARNING",
            "ARBITER_API_RATE": "100000000/min",
            "ARBITER_SPAN_BUFFER_MS": os.environ.get("ARBITER_SPAN_BUFFER_MS", "200"),  # the production default
            "DJANGO_SETTINGS_MODULE": "governance.settings",
            "GUNICORN_MAX_REQUESTS": "0",  # no recycling: a restarted worker's CPU time would be lost
        }
        self.env.pop("CELERY_BROKER_URL", None)
        self._manage("migrate", "--no-input", "-v", "0")
        setup = SETUP.replace("SCHEMA", repr(JSON_SCHEMA))
        self.key = self._manage("shell", "-c", setup).strip().splitlines()[-1]
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "governance.wsgi",
             "--workers", str(self.args.workers), "--threads", str(self.args.threads), "--worker-class", "gthread",
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"],
            cwd=self.tree, env=self.env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn ({self.label}) did not start")
            time.sleep(0.2)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of gunicorn's master and workers so far."""
        assert self.process is not None
        master = self.process.pid
        pids = [master]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == master:
                    pids.append(int(entry.name))
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def passes_per_check(self, cases: list[Case]) -> dict[str, float]:
        plan = json.dumps([(c.name, c.stage, c.policy, c.texts[0]) for c in cases])
        out = self._manage("shell", "-c", PASSES.replace("CASES", repr(plan)))
        passes: dict[str, float] = json.loads(out.strip().splitlines()[-1])
        return passes

    def _manage(self, *argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *argv],
            cwd=self.tree,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        for cleanup in reversed(self.cleanups):
            cleanup()


def _export(ref: str) -> tuple[Path, Callable[[], object]]:
    tmp = Path(tempfile.mkdtemp(prefix="arbiter-baseline-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    return tmp, lambda: shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Measured:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    errors: int = 0


def _measure(server: Server, case: Case, concurrency: int, requests: int, into: Measured) -> None:
    headers = {"Authorization": f"Bearer {server.key}"}
    clients = [httpx.Client(base_url=server.base, headers=headers, timeout=30) for _ in range(concurrency)]
    body = {"policy": case.policy, "stage": case.stage}
    for client in clients:  # warm up connections and the compiled-policy cache in every worker
        for _ in range(5):
            client.post("/api/v1/guard/check", json={**body, "text": case.texts[0]})

    def one(i: int) -> tuple[float, int]:
        client = clients[i % len(clients)]
        started = time.perf_counter()
        response = client.post("/api/v1/guard/check", json={**body, "text": case.texts[i % len(case.texts)]})
        return (time.perf_counter() - started) * 1000, response.status_code

    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, range(requests)))
    into.seconds += time.perf_counter() - started
    into.cpu_seconds += server.cpu_seconds() - cpu_before
    for client in clients:
        client.close()
    into.latencies.extend(ms for ms, _ in results)
    into.errors += sum(1 for _, status in results if status != 200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="per case, concurrency and server")
    parser.add_argument("--concurrency", type=int, default=8, help="also measured: 1 client")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--sizes", default="1024,4096")
    parser.add_argument("--rounds", type=int, default=2, help="alternations between the servers per case")
    parser.add_argument("--baseline", metavar="REF", help="also measure the code at this git ref")
    args = parser.parse_args()

    cases = _cases([int(s) for s in args.sizes.split(",")])
    cleanups: list[Callable[[], object]] = []
    servers: list[Server] = []
    try:
        if args.baseline:
            tree, remove = _export(args.baseline)
            cleanups.append(remove)
            servers.append(Server("baseline", tree, args))
        servers.append(Server("current", ROOT, args))
        for server in servers:
            server.start()
        _report(servers, cases, args)
    finally:
        for server in servers:
            server.stop()
        for cleanup in cleanups:
            cleanup()


def _report(servers: list[Server], cases: list[Case], args: argparse.Namespace) -> None:
    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    names = " vs ".join(f"{s.label}" + (f" ({args.baseline})" if s.label == "baseline" else "") for s in servers)
    print(f"guard check API: {names}; gunicorn {args.workers} workers x {args.threads} threads, {database}, "
          f"project content stored redacted, {args.requests} requests per row in {args.rounds} rounds")  # fmt: skip

    passes = {server.label: server.passes_per_check(cases) for server in servers}
    print("\nengine passes per check (tier-1 scans of the text: the policy, plus any separate redaction)")
    print(f"{'case':<26}" + "".join(f"{s.label:>10}" for s in servers))
    for case in cases:
        print(f"{case.name:<26}" + "".join(f"{passes[s.label][case.name]:>10.1f}" for s in servers))

    columns = ("req/s", "p50 ms", "p90 ms", "p99 ms", "cpu ms")
    print(f"\n{'case':<26} {'clients':>7} {'server':>9} " + " ".join(f"{c:>7}" for c in columns) + f" {'errors':>6}")
    ratios: list[tuple[str, int, float, float, float]] = []
    per_round = max(1, args.requests // args.rounds)
    for case in cases:
        for concurrency in sorted({1, args.concurrency}):
            measured = {server.label: Measured() for server in servers}
            for _ in range(args.rounds):  # alternate, so drift in the machine's load hits both
                for server in servers:
                    _measure(server, case, concurrency, per_round, measured[server.label])
            for server in servers:
                m = measured[server.label]
                q = statistics.quantiles(m.latencies, n=100)
                print(f"{case.name:<26} {concurrency:>7} {server.label:>9} {len(m.latencies) / m.seconds:>7.0f} "
                      f"{q[49]:>7.2f} {q[89]:>7.2f} {q[98]:>7.2f} "
                      f"{1000 * m.cpu_seconds / len(m.latencies):>7.2f} {m.errors:>6}")  # fmt: skip
            if len(servers) == 2:
                before, after = (measured[s.label] for s in servers)
                throughput = (len(after.latencies) / after.seconds) / (len(before.latencies) / before.seconds)
                p50 = statistics.median(after.latencies) / statistics.median(before.latencies)
                cpu = (after.cpu_seconds / len(after.latencies)) / (before.cpu_seconds / len(before.latencies))
                ratios.append((case.name, concurrency, throughput, p50, cpu))
    if ratios:
        print("\ncurrent / baseline (same run)")
        print(f"{'case':<26} {'clients':>7} {'req/s':>7} {'p50':>7} {'cpu/req':>8}")
        for name, concurrency, throughput, p50, cpu in ratios:
            print(f"{name:<26} {concurrency:>7} {throughput:>6.2f}x {p50:>6.2f}x {cpu:>7.2f}x")


if __name__ == "__main__":
    main()
