"""A real HTTP server that speaks the providers' wire formats, for tests and benches.

    def test_something(fake_provider):
        fake_provider.enqueue(status=429, headers={"Retry-After": "2"})
        fake_provider.enqueue(json=openai_reply(text="hello"))
        provider = ProviderConfig(name="p", kind="openai", base_url=fake_provider.openai_base_url)
        ...
        assert fake_provider.request_count == 2

Endpoints (POST): ``/v1/chat/completions`` and ``/chat/completions`` (OpenAI),
``/v1/messages`` (Anthropic), ``/classify`` (generic JSON verdict). Responses
come from a FIFO queue of scripted replies; when it is empty each endpoint
answers with a well-formed default. A request with ``"stream": true`` gets the
default reply as server-sent events in the endpoint's format (chunked transfer
encoding, one write per event); ``enqueue(stream=[...])`` scripts the events
(``openai_stream``/``anthropic_stream`` build them), with ``stream_delay``
seconds between events and ``stream_cut_after`` to drop the connection
mid-stream. Every request is recorded (path,
lower-cased headers, parsed JSON) before any scripted delay, so a request that
the client abandoned on a timeout is still counted.

It binds 127.0.0.1 on an ephemeral port, serves each connection on its own
thread with HTTP/1.1 keep-alive (as a real provider does, so pooled clients
behave as in production), and is cheap enough to start per test.
"""

from __future__ import annotations

import json as jsonlib
import math
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

OPENAI_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
ANTHROPIC_PATH = "/v1/messages"
CLASSIFY_PATH = "/classify"


def openai_reply(
    text: str = "fake reply",
    *,
    model: str = "fake-model",
    prompt_tokens: int = 12,
    completion_tokens: int = 5,
    cached_tokens: int = 0,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    """An OpenAI chat.completion body (``prompt_tokens`` includes ``cached_tokens``)."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }


def anthropic_reply(
    text: str = "fake reply",
    *,
    model: str = "fake-model",
    input_tokens: int = 12,
    output_tokens: int = 5,
    cache_read_input_tokens: int = 0,
    cache_creation_input_tokens: int = 0,
    stop_reason: str = "end_turn",
) -> dict[str, Any]:
    """An Anthropic Messages body (``input_tokens`` excludes the cache counts)."""
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read_input_tokens,
            "cache_creation_input_tokens": cache_creation_input_tokens,
        },
    }


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event; ``data`` is JSON-encoded unless it is a string."""
    payload = data if isinstance(data, str) else jsonlib.dumps(data)
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


def _pieces(text: str, chunk_chars: int) -> list[str]:
    return [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)] or [""]


def openai_stream(
    text: str = "fake reply",
    *,
    model: str = "fake-model",
    chunk_chars: int = 4,
    prompt_tokens: int = 12,
    completion_tokens: int = 5,
    cached_tokens: int = 0,
    include_usage: bool = True,
    finish_reason: str = "stop",
) -> list[str]:
    """``chat.completion.chunk`` events: a role chunk, the text, the finish chunk, usage, ``[DONE]``."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events = [sse(chunk({"role": "assistant", "content": ""}))]
    events += [sse(chunk({"content": piece})) for piece in _pieces(text, chunk_chars)]
    events.append(sse(chunk({}, finish_reason)))
    if include_usage:
        usage = openai_reply(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cached_tokens=cached_tokens
        )["usage"]
        events.append(sse({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model, "choices": [],
                           "usage": usage}))  # fmt: skip
    events.append(sse("[DONE]"))
    return events


def anthropic_stream(
    text: str = "fake reply",
    *,
    model: str = "fake-model",
    chunk_chars: int = 4,
    input_tokens: int = 12,
    output_tokens: int = 5,
    cache_read_input_tokens: int = 0,
    stop_reason: str = "end_turn",
) -> list[str]:
    """Messages stream events, as the API sends them (with a ``ping``)."""
    start = anthropic_reply("", model=model, input_tokens=input_tokens, output_tokens=1,
                            cache_read_input_tokens=cache_read_input_tokens)  # fmt: skip
    start["content"], start["stop_reason"] = [], None
    events = [
        sse({"type": "message_start", "message": start}, "message_start"),
        sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start"),
        sse({"type": "ping"}, "ping"),
    ]  # fmt: skip
    events += [
        sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            "content_block_delta")
        for piece in _pieces(text, chunk_chars)
    ]  # fmt: skip
    events += [
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
             "usage": {"output_tokens": output_tokens}}, "message_delta"),
        sse({"type": "message_stop"}, "message_stop"),
    ]  # fmt: skip
    return events


def classify_reply(verdict: str = "allow", score: float = 0.0) -> dict[str, Any]:
    return {"verdict": verdict, "score": score, "reason": "fake classifier"}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes
    peer: str = ""  # client host:port; one peer for many requests means a reused connection


@dataclass(frozen=True)
class ScriptedResponse:
    status: int = 200
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes | None = None
    stream: tuple[str, ...] | None = None
    stream_delay: float = 0.0
    stream_cut_after: int | None = None


def _default_stream(path: str, request_json: Any) -> list[str]:
    model = request_json.get("model", "fake-model") if isinstance(request_json, dict) else "fake-model"
    return anthropic_stream(model=model) if path == ANTHROPIC_PATH else openai_stream(model=model)


def _default_body(path: str, request_json: Any) -> tuple[int, Any]:
    model = request_json.get("model", "fake-model") if isinstance(request_json, dict) else "fake-model"
    if path in OPENAI_PATHS:
        return 200, openai_reply(model=model)
    if path == ANTHROPIC_PATH:
        return 200, anthropic_reply(model=model)
    if path == CLASSIFY_PATH:
        return 200, classify_reply()
    return 404, {"error": {"type": "not_found", "message": f"no route {path}"}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the second
    # waits for the client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            request_json: Any = jsonlib.loads(body) if body else None
        except ValueError:
            request_json = None
        owner = self.server.owner
        scripted, abort = owner._receive(
            RecordedRequest(
                method="POST",
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                json=request_json,
                body=body,
                peer="{}:{}".format(*self.client_address[:2]),
            )
        )
        if scripted.delay > 0 and abort.wait(scripted.delay):
            self.close_connection = True
            return
        wants_stream = isinstance(request_json, dict) and request_json.get("stream") is True
        if scripted.stream is not None or (wants_stream and scripted.status == 200 and scripted.json is None
                                           and scripted.body is None and self.path != CLASSIFY_PATH):  # fmt: skip
            events = scripted.stream if scripted.stream is not None else _default_stream(self.path, request_json)
            self._send_stream(scripted, list(events), abort)
            return
        if scripted.body is not None:
            status, payload = scripted.status, scripted.body
        else:
            status, default = _default_body(self.path, request_json)
            if scripted.json is not None:
                status, default = scripted.status, scripted.json
            elif scripted.status != 200:
                status, default = scripted.status, {"error": {"type": "fake_error", "message": "scripted"}}
            payload = jsonlib.dumps(default).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in scripted.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (read timeout) while we were delaying.
            self.close_connection = True

    def _send_stream(self, scripted: ScriptedResponse, events: list[str], abort: threading.Event) -> None:
        """Server-sent events with chunked transfer encoding, one chunk (and flush) per event."""
        try:
            self.send_response(scripted.status)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            for name, value in scripted.headers.items():
                self.send_header(name, value)
            self.end_headers()
            for number, event in enumerate(events):
                if scripted.stream_cut_after is not None and number >= scripted.stream_cut_after:
                    # Drop the connection without the terminating chunk: a provider dying mid-answer.
                    self.close_connection = True
                    self.wfile.flush()
                    return
                if number and scripted.stream_delay > 0 and abort.wait(scripted.stream_delay):
                    self.close_connection = True
                    return
                data = event.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading (a cancelled stream)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Concurrency tests open dozens of connections at once; the default backlog of 5 would
    # refuse some of them (a failure of the test server, not of the client under test).
    request_queue_size = 128
    owner: FakeProviderServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # disconnects mid-delay are expected; tests assert on what was recorded


class FakeProviderServer:
    """See the module docstring. Thread-safe; use as a context manager or the fixture."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self._lock = threading.Lock()
        self._queue: deque[ScriptedResponse] = deque()
        self._requests: list[RecordedRequest] = []
        # Replaced on reset/stop; setting the old one cuts scripted delays short
        # so a test never waits for a sleeping handler.
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self._bucket: tuple[float, float] | None = None  # (capacity, refill per second)
        self._tokens = 0.0
        self._refilled_at = 0.0
        self.throttled_count = 0

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for an ``openai`` ProviderConfig (the client appends ``/chat/completions``)."""
        return self.url + "/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def pending(self) -> int:
        """Scripted responses not consumed yet."""
        with self._lock:
            return len(self._queue)

    def enqueue(
        self,
        *,
        status: int = 200,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        body: bytes | None = None,
        times: int = 1,
        stream: list[str] | None = None,
        stream_delay: float = 0.0,
        stream_cut_after: int | None = None,
    ) -> None:
        """Script the next response(s).

        ``json=None`` sends the endpoint's default reply (or an error body when
        ``status`` is not 200); ``body`` sends raw bytes (e.g. invalid JSON);
        ``delay`` seconds are waited before answering; ``times`` repeats it.
        ``stream`` sends these server-sent events (see ``openai_stream``), each
        ``stream_delay`` seconds after the previous one, and drops the connection
        before event number ``stream_cut_after`` when that is set.
        """
        scripted = ScriptedResponse(
            status, json, dict(headers or {}), delay, body,
            tuple(stream) if stream is not None else None, stream_delay, stream_cut_after,
        )  # fmt: skip
        with self._lock:
            self._queue.extend([scripted] * times)

    def enforce_rate_limit(self, *, requests: int, per_s: float = 60.0) -> None:
        """Answer 429 (with ``Retry-After``) beyond ``requests`` per ``per_s`` seconds, as a
        provider's token bucket does (capacity ``requests``, refilled continuously).
        ``throttled_count`` counts the 429s sent."""
        with self._lock:
            self._bucket = (float(requests), requests / per_s)
            self._tokens, self._refilled_at = float(requests), time.monotonic()

    def _throttled(self) -> float | None:
        """Seconds until a token is back when the bucket is empty (called under the lock)."""
        if self._bucket is None:
            return None
        capacity, rate = self._bucket
        now = time.monotonic()
        self._tokens = min(capacity, self._tokens + (now - self._refilled_at) * rate)
        self._refilled_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        self.throttled_count += 1
        return (1.0 - self._tokens) / rate

    def reset(self) -> None:
        """Forget scripted replies and recorded requests; wake delayed handlers."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            abort, self._abort = self._abort, threading.Event()
        abort.set()

    def start(self) -> FakeProviderServer:
        # A short poll interval keeps stop() (which waits for one poll) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._abort.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _receive(self, request: RecordedRequest) -> tuple[ScriptedResponse, threading.Event]:
        with self._lock:
            self._requests.append(request)
            wait = self._throttled()
            if wait is not None:
                retry_after = {"Retry-After": str(max(1, math.ceil(wait)))}
                return ScriptedResponse(status=429, headers=retry_after), self._abort
            scripted = self._queue.popleft() if self._queue else ScriptedResponse()
            return scripted, self._abort


@pytest.fixture
def fake_provider() -> Iterator[FakeProviderServer]:
    """A started ``FakeProviderServer``, stopped after the test.

    Re-export it from a conftest (``from tests.support.fake_provider import
    fake_provider``) to use it in another test package.
    """
    with FakeProviderServer() as server:
        yield server
