"""A real gunicorn from ``gunicorn.conf.py`` answers its own errors as JSON (issue 8, item 12).

gunicorn refuses some requests before Django sees them (a malformed request line, a header or a
request line above its limits) and wrote those as HTML. Here the production configuration is
started as a process and spoken to over a raw socket, so the bytes on the wire are what is tested.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture(scope="module")
def gunicorn_port() -> Iterator[int]:
    port = _free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "governance.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"gunicorn exited: {server.stderr.read().decode()[-2000:] if server.stderr else ''}")
            try:
                if _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not start")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"THIS IS NOT HTTP\r\n\r\n", 400, "malformed_request"),
        (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nBad Header Name: x\r\n\r\n", 400, "malformed_request"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 414, "request_line_too_long"),
        (
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n",
            431,
            "headers_too_large",
        ),
    ],
    ids=["bad-request-line", "bad-header-name", "request-line-too-long", "header-too-large"],
)
def test_gunicorns_own_errors_are_json(gunicorn_port, raw, status, code):
    got_status, headers, body = _exchange(gunicorn_port, raw)
    assert got_status == status, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert set(error) == {"code", "message", "detail"}
    assert error["code"] == code


def test_a_large_but_realistic_header_reaches_django(gunicorn_port):
    # 12 KiB of cookies is above gunicorn's default 8 KiB field limit but within the configured 16 KiB.
    raw = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: " + b"c" * 12_000 + b"\r\n\r\n"
    status, _, _ = _exchange(gunicorn_port, raw)
    assert status == 200
