"""gunicorn's own error answers in the API's JSON error shape.

gunicorn answers some requests before Django sees them: a malformed request line (400), a header
line or a request line above its limits (431, 414), an invalid header (400). It writes those as
an HTML page through ``gunicorn.util.write_error``, which it offers no setting to change. This
worker class (``worker_class`` in ``gunicorn.conf.py``) replaces that one function in its own
process with one that writes ``{"code", "message", "detail"}``, so every answer a client gets from
Arbiter, at any layer, is JSON. ``tests/governance/test_gunicorn.py`` runs a real gunicorn to
keep this true across gunicorn releases.
"""

from __future__ import annotations

import json
import socket

from gunicorn import util  # type: ignore[import-untyped]
from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

_CODES = {
    400: "malformed_request",
    403: "forbidden",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}
_MAX_MESSAGE = 300


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for ``gunicorn.util.write_error``: the same status line, a JSON body."""
    message = f"{reason}: {mesg}" if mesg else reason
    body = json.dumps(
        {"code": _CODES.get(status_int, "malformed_request"), "message": message[:_MAX_MESSAGE], "detail": None}
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class JsonErrorThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker, answering its own errors as JSON."""

    def init_process(self) -> None:
        util.write_error = write_json_error
        super().init_process()
