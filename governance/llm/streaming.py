"""Streaming chat calls through the same breaker, retries and usage events as ``complete``.

``LlmClient.stream(provider, request)`` returns a ``ChatStream``: iterate it for the text
deltas; once it is exhausted ``result`` holds the ``ChatResult`` (full text, usage, attempts).

What differs from a plain call, and why:

* **Retries only before the first text.** Opening the stream and reading up to its first
  text delta is one attempt, retried like a plain call (breaker permit, backoff,
  ``Retry-After``, retry budget). Once text has been handed to the caller a failure ends the
  stream with the error: a retry would send the caller the beginning twice.
* **The breaker hears the outcome at the end**, with the time to the first text as the call's
  duration (a long answer is not a slow provider).
* **One usage event per attempt**, as for ``complete``; the successful attempt's event is
  published when the stream ends, with the provider's own token counts (OpenAI's
  ``include_usage`` chunk, Anthropic's ``message_start``/``message_delta``). A stream that
  breaks off or that the caller closes early publishes ``error`` or ``cancelled`` with the
  counts the provider sent so far, or, where it sent none yet, an estimate of one token per
  four characters of prompt and of text received, so the ledger never records a started
  call as free.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from governance.llm import hooks
from governance.llm.client import _traceparent
from governance.llm.errors import (
    BreakerOpenError,
    LlmError,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    RetryBudgetExhaustedError,
)
from governance.llm.providers import anthropic, openai
from governance.llm.providers.base import StreamAccumulator, error_type
from governance.llm.providers.offline import approx_tokens
from governance.llm.providers.sse import SseEvent, iter_sse
from governance.llm.retry import parse_retry_after, plan_retry
from governance.llm.types import (
    CallStatus,
    ChatRequest,
    ChatResult,
    ProviderConfig,
    Usage,
    UsageEvent,
    compute_request_hash,
)

if TYPE_CHECKING:
    from governance.llm.breaker import BreakerPermit, CircuitBreaker
    from governance.llm.client import LlmClient

MAX_ERROR_BODY_BYTES = 64_000


class _Source:
    """One attempt's open stream: ``next_delta`` until it returns None."""

    state: StreamAccumulator

    def next_delta(self) -> str | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection; safe to call twice."""


class _HttpSource(_Source):
    def __init__(self, response: httpx.Response, stack: Any, parse: Callable[[SseEvent, StreamAccumulator], str]):
        self.state = StreamAccumulator()
        self._response = response
        self._stack = stack
        self._events = iter_sse(response.iter_lines())
        self._parse = parse

    def next_delta(self) -> str | None:
        while not self.state.done:
            try:
                event = next(self._events)
            except StopIteration:
                if not self.state.done and self.state.finish_reason is None:
                    raise ProviderResponseError("stream ended before the provider said it was done") from None
                return None
            except httpx.TimeoutException as exc:
                raise ProviderTimeoutError(f"stream read: {type(exc).__name__}") from exc
            except httpx.TransportError as exc:
                raise ProviderConnectionError(f"stream read: {type(exc).__name__}") from exc
            text = self._parse(event, self.state)
            if text:
                return text
        return None

    def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.__exit__(None, None, None)


class _OfflineSource(_Source):
    def __init__(self, model: str, usage: Usage, finish_reason: str | None, chunks: Iterator[str]) -> None:
        self.state = StreamAccumulator(model=model)
        self._final = (usage, finish_reason)
        self._chunks = chunks

    def next_delta(self) -> str | None:
        for chunk in self._chunks:
            if chunk:
                return chunk
        self.state.usage, self.state.finish_reason = self._final
        self.state.done = True
        return None


class ChatStream:
    """Text deltas of one streamed chat call. Iterate once; close it if you stop early.

    ``result`` is set when the stream has ended normally. ``text`` is what was received so
    far. Closing early (``close()``, leaving a ``with`` block, or the generator being
    collected) ends the HTTP response and publishes a ``cancelled`` usage event.
    """

    def __init__(self, client: LlmClient, provider: ProviderConfig, request: ChatRequest) -> None:
        self._client = client
        self._provider = provider
        self._request = request
        self._parts: list[str] = []
        self.result: ChatResult | None = None
        self._iterator: Generator[str, None, None] = self._run()

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._iterator)

    def close(self) -> None:
        self._iterator.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the attempt loop (mirrors LlmClient._execute, but hands the permit to the stream) ----

    def _run(self) -> Generator[str, None, None]:
        client, provider, request = self._client, self._provider, self._request
        started = time.perf_counter()
        request_hash = compute_request_hash(provider.kind, request)
        budget = client._budget(provider)
        budget.record_request()
        breaker = client.breakers.get(f"{provider.name}:{request.model}", provider.breaker)
        last_error: LlmError | None = None
        attempt = 0
        while True:
            attempt += 1
            try:
                permit = breaker.acquire()
            except BreakerOpenError as exc:
                exc.provider = provider.name
                raise exc from last_error
            attempt_started = time.perf_counter()
            source: _Source | None = None
            try:
                source = self._open()
                first = source.next_delta()
            except LlmError as exc:
                if source is not None:
                    source.close()
                duration = time.perf_counter() - attempt_started
                breaker.record(permit, failed=exc.breaker_failure, duration_s=duration)
                exc.provider = exc.provider or provider.name
                decision = plan_retry(exc, attempt=attempt, config=provider.retry, budget=budget, rng=client._rng)
                status: CallStatus = "retry" if decision.retry else "error"
                self._publish(attempt, None, exc, duration, status, request_hash)
                if decision.retry:
                    last_error = exc
                    client._sleep(decision.delay_s)
                    continue
                if decision.reason == "budget_exhausted":
                    raise RetryBudgetExhaustedError(
                        f"{provider.name}: retry budget exhausted after {exc.code}",
                        provider=provider.name,
                        last_error=exc,
                    ) from exc
                raise
            except BaseException:
                if source is not None:
                    source.close()
                breaker.record(permit, failed=True, duration_s=time.perf_counter() - attempt_started)
                raise
            yield from self._deliver(source, first, permit, breaker, attempt, attempt_started, started, request_hash)
            return

    def _deliver(
        self,
        source: _Source,
        first: str | None,
        permit: BreakerPermit,
        breaker: CircuitBreaker,
        attempt: int,
        attempt_started: float,
        started: float,
        request_hash: str,
    ) -> Iterator[str]:
        time_to_first = time.perf_counter() - attempt_started
        status: CallStatus = "error"
        error: LlmError | None = None
        failed = False
        try:
            delta = first
            while delta is not None:
                self._parts.append(delta)
                yield delta
                delta = source.next_delta()
            status = "ok"
        except GeneratorExit:
            status = "cancelled"  # the caller stopped reading (a client hung up)
            raise
        except LlmError as exc:
            exc.provider = exc.provider or self._provider.name
            error, failed = exc, exc.breaker_failure
            raise
        except BaseException:
            failed = True
            raise
        finally:
            source.close()
            # The provider answered; only a failure mid-stream counts against its health.
            breaker.record(permit, failed=failed, duration_s=time_to_first)
            self._publish(attempt, source.state, error, time.perf_counter() - attempt_started, status, request_hash)
            if status == "ok":
                self.result = ChatResult(
                    text=self.text,
                    model=source.state.model or self._request.model,
                    provider=self._provider.name,
                    provider_kind=self._provider.kind,
                    usage=self._usage(source.state, complete=True),
                    latency_ms=(time.perf_counter() - started) * 1000.0,
                    attempts=attempt,
                    finish_reason=source.state.finish_reason,
                    simulated=self._provider.kind == "offline",
                    request_hash=request_hash,
                )

    # -- plumbing -------------------------------------------------------------------------

    def _open(self) -> _Source:
        client, provider, request = self._client, self._provider, self._request
        if provider.kind == "offline":
            reply, chunks = client._simulator.stream(provider, request)
            return _OfflineSource(reply.model, reply.usage, reply.finish_reason, chunks)
        api_key = client._api_key(provider)
        if provider.kind == "openai":
            call, parse = openai.build_stream_call(request, api_key), openai.parse_stream_event
        else:
            call, parse = anthropic.build_stream_call(request, api_key), anthropic.parse_stream_event
        headers = {**provider.extra_headers, **call.headers, "accept": "text/event-stream"}
        traceparent = _traceparent(request.metadata)
        if traceparent:
            headers["traceparent"] = traceparent
        stack = client._pool(provider).stream("POST", provider.base_url + call.path, json=call.payload, headers=headers)
        try:
            response = stack.__enter__()
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(f"{provider.name}: {type(exc).__name__}", provider=provider.name) from exc
        except httpx.TransportError as exc:
            raise ProviderConnectionError(f"{provider.name}: {type(exc).__name__}", provider=provider.name) from exc
        if not response.is_success:
            try:
                body = _read_error_body(response)
            finally:
                stack.__exit__(None, None, None)
            raise ProviderHTTPError(
                f"{provider.name}: HTTP {response.status_code}",
                provider=provider.name,
                status=response.status_code,
                retry_after_s=parse_retry_after(response.headers),
                provider_error_type=error_type(body),
            )
        return _HttpSource(response, stack, parse)

    def _usage(self, state: StreamAccumulator | None, *, complete: bool) -> Usage:
        reported = state.usage if state is not None else None
        if complete and reported is not None:
            return reported
        # The provider broke off or the caller stopped early, so its final counts never came:
        # keep what it reported and estimate the rest, never less than the text received.
        reported = reported or Usage()
        prompt = "\n".join(p for p in [self._request.system or "", *(m.content for m in self._request.messages)] if p)
        if reported.input_tokens_total == 0:
            reported = Usage(uncached_input_tokens=approx_tokens(prompt), output_tokens=reported.output_tokens)
        return Usage(
            uncached_input_tokens=reported.uncached_input_tokens,
            cache_read_tokens=reported.cache_read_tokens,
            cache_write_tokens=reported.cache_write_tokens,
            output_tokens=max(reported.output_tokens, approx_tokens(self.text)),
        )

    def _publish(
        self,
        attempt: int,
        state: StreamAccumulator | None,
        error: LlmError | None,
        duration_s: float,
        status: CallStatus,
        request_hash: str,
    ) -> None:
        if status == "ok" or (state is not None and self._parts):
            usage = self._usage(state, complete=status == "ok")
        else:
            usage = Usage()  # failed before any text: priced like a failed plain call (no tokens)
        hooks.PROVIDER_CALL_ATTEMPTED.publish(
            UsageEvent(
                provider=self._provider.name,
                provider_kind=self._provider.kind,
                model=self._request.model,
                response_model=state.model if state is not None else "",
                usage=usage,
                latency_ms=duration_s * 1000.0,
                status=status,
                attempt=attempt,
                error_code=error.code if error else None,
                request_hash=request_hash,
                context=self._request.metadata,
                occurred_at=datetime.fromtimestamp(self._client._clock(), UTC),
                simulated=self._provider.kind == "offline",
            )
        )


def _read_error_body(response: httpx.Response) -> Any:
    raw = b""
    for chunk in response.iter_bytes():
        raw += chunk
        if len(raw) > MAX_ERROR_BODY_BYTES:
            return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
