"""The built-in offline provider: a deterministic simulator, no network.

It lets ``make run``, the demo and the tests exercise every path (breaker,
retries, usage events, the guard's JSON verdicts) without a key. Its replies
are labelled: text starts with ``[simulated] `` and results carry
``simulated=True``. Behaviour comes from ``ProviderConfig.offline``:

``mode``
    ``echo`` (default) a reply derived from the prompt; ``json_verdict`` a JSON
    guard verdict; ``fail`` an HTTP error; ``slow`` a reply after ``latency_ms``
    (default: the breaker's slow-call duration, so it counts as slow), or a
    timeout if that exceeds the provider's read timeout.
``verdict``
    The JSON object returned in ``json_verdict`` mode (default: allow).
``unsafe_keywords``
    In ``json_verdict`` mode, any of these (case-insensitive) in the user text
    returns ``{"verdict": "block", "score": 0.95, ...}`` instead.
``fail_status`` / ``fail_retry_after_s``
    The status (default 503) and optional Retry-After of simulated failures.
``fail_first_n``
    Fail only the first N calls of this provider in this process, then behave
    as the mode says (``fail`` then falls back to ``echo``): demoes retries.
``latency_ms``
    Added latency in any mode (real sleep: keep it small in tests).
``stream_chunk_chars`` / ``stream_delay_ms`` / ``stream_fail_after_chunks``
    Streaming only: the reply is sent in chunks of this many characters (default 8), with
    this delay between chunks (default 0), and optionally breaks off with a simulated 503
    after that many chunks (a provider failing mid-stream).

Token usage is approximated as one token per four characters.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from governance.llm.errors import ProviderConfigError, ProviderHTTPError, ProviderTimeoutError
from governance.llm.providers.base import ProviderReply
from governance.llm.types import ChatRequest, ProviderConfig, Usage

MODES = frozenset({"echo", "json_verdict", "fail", "slow"})
PREFIX = "[simulated] "
DEFAULT_VERDICT: Mapping[str, Any] = {"verdict": "allow", "score": 0.0, "reason": "simulated"}


def approx_tokens(text: str) -> int:
    return (len(text) + 3) // 4


class OfflineSimulator:
    """Thread-safe; the only state is the per-provider call counter for ``fail_first_n``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def complete(self, provider: ProviderConfig, request: ChatRequest) -> ProviderReply:
        mode = self._before_reply(provider)
        user_text = "\n".join(m.content for m in request.messages if m.role == "user")
        if mode == "json_verdict":
            text = json.dumps(self.verdict(provider, user_text), sort_keys=True)
        else:
            last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
            summary = " ".join(last_user.split())[:200]
            text = f"{PREFIX}reply to: {summary}"
        prompt = "\n".join([request.system or "", *(m.content for m in request.messages)])
        return ProviderReply(
            text=text,
            model=request.model,
            usage=Usage(uncached_input_tokens=approx_tokens(prompt), output_tokens=approx_tokens(text)),
            finish_reason="stop",
        )

    def stream(self, provider: ProviderConfig, request: ChatRequest) -> tuple[ProviderReply, Iterator[str]]:
        """The reply ``complete`` would give, and its text as a stream of chunks.

        Failures configured to happen before the reply (``fail``, ``fail_first_n``, timeouts)
        raise here, before any chunk, as an HTTP provider fails before its first event.
        """
        reply = self.complete(provider, request)
        options = provider.offline
        size = max(1, int(options.get("stream_chunk_chars", 8)))
        delay_s = float(options.get("stream_delay_ms", 0)) / 1000.0
        fail_after = options.get("stream_fail_after_chunks")

        def chunks() -> Iterator[str]:
            for number, start in enumerate(range(0, len(reply.text), size)):
                if fail_after is not None and number >= int(fail_after):
                    raise ProviderHTTPError(
                        f"{provider.name}: simulated failure mid-stream", provider=provider.name, status=503
                    )
                if delay_s > 0 and number:
                    time.sleep(delay_s)
                yield reply.text[start : start + size]

        return reply, chunks()

    def post_json(self, provider: ProviderConfig, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Answer a generic JSON POST (the guard's classifier) with a verdict."""
        self._before_reply(provider)
        text = payload.get("text", payload.get("input", ""))
        return self.verdict(provider, text if isinstance(text, str) else json.dumps(text))

    def verdict(self, provider: ProviderConfig, user_text: str) -> dict[str, Any]:
        options = provider.offline
        lowered = user_text.lower()
        for keyword in options.get("unsafe_keywords", ()):
            if str(keyword).lower() in lowered:
                return {"verdict": "block", "score": 0.95, "reason": f"simulated: matched {keyword!r}"}
        return dict(options.get("verdict", DEFAULT_VERDICT))

    def _before_reply(self, provider: ProviderConfig) -> str:
        """Apply the configured failure/latency; return the mode to answer in."""
        options = provider.offline
        mode = str(options.get("mode", "echo"))
        if mode not in MODES:
            raise ProviderConfigError(
                f"offline provider {provider.name!r}: unknown mode {mode!r}", provider=provider.name
            )
        with self._lock:
            call_number = self._calls.get(provider.name, 0) + 1
            self._calls[provider.name] = call_number
        fail_first_n = options.get("fail_first_n")
        failing = call_number <= int(fail_first_n) if fail_first_n is not None else mode == "fail"
        latency_s = float(options.get("latency_ms", 0)) / 1000.0
        if mode == "slow" and "latency_ms" not in options:
            latency_s = provider.breaker.slow_call_duration_s
        if latency_s >= provider.read_timeout_s:
            time.sleep(provider.read_timeout_s)
            raise ProviderTimeoutError(f"{provider.name}: simulated read timeout", provider=provider.name)
        if latency_s > 0:
            time.sleep(latency_s)
        if failing:
            retry_after = options.get("fail_retry_after_s")
            raise ProviderHTTPError(
                f"{provider.name}: simulated failure",
                provider=provider.name,
                status=int(options.get("fail_status", 503)),
                retry_after_s=float(retry_after) if retry_after is not None else None,
            )
        return "echo" if mode in ("fail", "slow") else mode


SIMULATOR = OfflineSimulator()


def reset_offline_counters() -> None:
    """Forget ``fail_first_n`` counts (tests, or a demo restart)."""
    SIMULATOR.reset()
