"""The one LLM client every app uses.

Each call goes: API key from the environment → retry budget → for each attempt
(at most 3): breaker permit (or ``BreakerOpenError`` with no network call) →
HTTP POST on a pooled connection (or the offline simulator) → outcome recorded
on the breaker → ``UsageEvent`` published → retry decision. See ``retry`` for
the retry policy and ``breaker`` for the breaker's semantics.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import redis

from governance.llm import hooks
from governance.llm.breaker import BreakerRegistry, BreakerStore, Clock, MemoryBreakerStore
from governance.llm.breaker_redis import RedisBreakerStore
from governance.llm.errors import (
    BreakerOpenError,
    LlmError,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    RetryBudgetExhaustedError,
)
from governance.llm.providers import anthropic, openai
from governance.llm.providers.base import HttpCall, ProviderReply, error_type
from governance.llm.providers.offline import SIMULATOR, OfflineSimulator
from governance.llm.retry import RetryBudget, parse_retry_after, plan_retry
from governance.llm.types import (
    CallContext,
    CallStatus,
    ChatRequest,
    ChatResult,
    ProviderConfig,
    RetryConfig,
    Usage,
    UsageEvent,
    compute_request_hash,
)
from governance.secret_env import secret_env_name_error

if TYPE_CHECKING:
    from governance.llm.streaming import ChatStream

R = TypeVar("R")

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_SPAN_ID = re.compile(r"^[0-9a-f]{16}$")
_ZERO_USAGE = Usage()

# One pool per distinct endpoint and timeout set: providers sharing a base URL
# and timeouts share connections.
_PoolKey = tuple[str, float, float, int]


def _traceparent(context: CallContext) -> str | None:
    if _TRACE_ID.match(context.trace_id) and _SPAN_ID.match(context.span_id):
        return f"00-{context.trace_id}-{context.span_id}-01"
    return None


class LlmClient:
    """Thread-safe; share one per process (see ``get_client``).

    ``clock`` (wall seconds) drives breaker state and event timestamps,
    ``monotonic`` the retry budget's window, ``sleep`` the backoff and ``rng``
    its jitter: all injectable so tests never wait.
    """

    def __init__(
        self,
        *,
        breaker_store: BreakerStore | None = None,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        simulator: OfflineSimulator = SIMULATOR,
    ) -> None:
        self.breakers = BreakerRegistry(breaker_store, clock=clock)
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng
        self._simulator = simulator
        self._lock = threading.Lock()
        self._pools: dict[_PoolKey, httpx.Client] = {}
        self._budgets: dict[tuple[str, RetryConfig], RetryBudget] = {}
        self._pid = os.getpid()

    # -- public API -------------------------------------------------------

    def complete(self, provider: ProviderConfig, request: ChatRequest) -> ChatResult:
        """Run a chat completion through breaker, retries and usage events.

        Raises an ``LlmError`` subclass: ``BreakerOpenError`` (no call made),
        ``ProviderHTTPError`` / ``ProviderTimeoutError`` /
        ``ProviderConnectionError`` (after the last attempt),
        ``RetryBudgetExhaustedError``, ``ProviderResponseError``,
        ``ProviderConfigError``.
        """
        started = time.perf_counter()
        request_hash = compute_request_hash(provider.kind, request)
        simulated = provider.kind == "offline"
        if simulated:

            def once() -> ProviderReply:
                return self._simulator.complete(provider, request)

        else:
            api_key = self._api_key(provider)
            build = openai.build_chat_call if provider.kind == "openai" else anthropic.build_chat_call
            parse = openai.parse_chat_response if provider.kind == "openai" else anthropic.parse_chat_response
            call = build(request, api_key)

            def once() -> ProviderReply:
                return parse(self._post(provider, call, request.metadata))

        def report(
            attempt: int, reply: ProviderReply | None, error: LlmError | None, duration_s: float, status: CallStatus
        ) -> None:
            hooks.PROVIDER_CALL_ATTEMPTED.publish(
                UsageEvent(
                    provider=provider.name,
                    provider_kind=provider.kind,
                    model=request.model,
                    response_model=reply.model if reply else "",
                    usage=reply.usage if reply else _ZERO_USAGE,
                    latency_ms=duration_s * 1000.0,
                    status=status,
                    attempt=attempt,
                    error_code=error.code if error else None,
                    request_hash=request_hash,
                    context=request.metadata,
                    occurred_at=datetime.fromtimestamp(self._clock(), UTC),
                    simulated=simulated,
                )
            )

        reply, attempts = self._execute(provider, f"{provider.name}:{request.model}", once, report)
        return ChatResult(
            text=reply.text,
            model=reply.model or request.model,
            provider=provider.name,
            provider_kind=provider.kind,
            usage=reply.usage,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            attempts=attempts,
            finish_reason=reply.finish_reason,
            simulated=simulated,
            request_hash=request_hash,
        )

    def stream(self, provider: ProviderConfig, request: ChatRequest) -> ChatStream:
        """A streamed chat call: iterate the returned ``ChatStream`` for text deltas.

        Same breaker, retries (before the first text only) and usage events as ``complete``;
        see ``governance.llm.streaming``. Nothing is sent until the first ``next()``.
        """
        from governance.llm.streaming import ChatStream  # the streaming module imports this one

        return ChatStream(self, provider, request)

    def post_json(
        self,
        provider: ProviderConfig,
        path: str,
        payload: Mapping[str, Any],
        *,
        breaker_model: str,
        context: CallContext | None = None,
        usage_model: str | None = None,
        input_tokens: int = 0,
    ) -> dict[str, Any]:
        """POST ``payload`` to ``{base_url}/{path}`` through the same breaker and retries.

        For non-chat endpoints such as a remote text classifier; the breaker key is
        ``"{provider.name}:{breaker_model}"``. The ``offline`` kind answers with the simulator's
        verdict for ``payload["text"]``. Sends ``Authorization: Bearer`` when the provider names
        an API key variable.

        With ``usage_model`` each attempt publishes a ``UsageEvent`` for that model name, as a
        chat call does, so the endpoint's use is priced and budgeted: its input tokens are what
        the answer reports (``usage.prompt_tokens`` or ``usage.input_tokens``), else the
        caller's ``input_tokens``. Without it nothing is published.
        """
        context = context or CallContext()
        if provider.kind == "offline":

            def once() -> dict[str, Any]:
                return self._simulator.post_json(provider, path, payload)

        else:
            api_key = self._api_key(provider)
            headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
            call = HttpCall("/" + path.lstrip("/"), headers, dict(payload))

            def once() -> dict[str, Any]:
                body = self._post(provider, call, context)
                if not isinstance(body, dict):
                    raise ProviderResponseError("response is not a JSON object", provider=provider.name)
                return body

        report: Callable[[int, dict[str, Any] | None, LlmError | None, float, CallStatus], None] | None = None
        if usage_model is not None:
            request_hash = _payload_hash(provider.kind, usage_model, path, payload)

            def report(
                attempt: int, body: dict[str, Any] | None, error: LlmError | None, duration_s: float, status: CallStatus
            ) -> None:
                hooks.PROVIDER_CALL_ATTEMPTED.publish(
                    UsageEvent(
                        provider=provider.name,
                        provider_kind=provider.kind,
                        model=usage_model,
                        response_model="",
                        usage=Usage(uncached_input_tokens=_reported_input_tokens(body, input_tokens))
                        if body is not None
                        else _ZERO_USAGE,
                        latency_ms=duration_s * 1000.0,
                        status=status,
                        attempt=attempt,
                        error_code=error.code if error else None,
                        request_hash=request_hash,
                        context=context,
                        occurred_at=datetime.fromtimestamp(self._clock(), UTC),
                        simulated=provider.kind == "offline",
                    )
                )

        result, _ = self._execute(provider, f"{provider.name}:{breaker_model}", once, report)
        return result

    def close(self) -> None:
        """Close pooled connections (tests, shutdown). The client stays usable."""
        with self._lock:
            pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()

    def __enter__(self) -> LlmClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the attempt loop -------------------------------------------------

    def _execute(
        self,
        provider: ProviderConfig,
        breaker_key: str,
        once: Callable[[], R],
        report: Callable[[int, R | None, LlmError | None, float, CallStatus], None] | None,
    ) -> tuple[R, int]:
        budget = self._budget(provider)
        budget.record_request()
        breaker = self.breakers.get(breaker_key, provider.breaker)
        last_error: LlmError | None = None
        attempt = 0
        while True:
            attempt += 1
            try:
                permit = breaker.acquire()
            except BreakerOpenError as exc:
                exc.provider = provider.name
                # A retry can meet a breaker that the previous attempt tripped;
                # chain the error that led here so it is not lost.
                raise exc from last_error
            started = time.perf_counter()
            try:
                value = once()
            except LlmError as exc:
                duration = time.perf_counter() - started
                breaker.record(permit, failed=exc.breaker_failure, duration_s=duration)
                exc.provider = exc.provider or provider.name
                decision = plan_retry(exc, attempt=attempt, config=provider.retry, budget=budget, rng=self._rng)
                if report is not None:
                    report(attempt, None, exc, duration, "retry" if decision.retry else "error")
                if decision.retry:
                    last_error = exc
                    self._sleep(decision.delay_s)
                    continue
                if decision.reason == "budget_exhausted":
                    raise RetryBudgetExhaustedError(
                        f"{provider.name}: retry budget exhausted after {exc.code}",
                        provider=provider.name,
                        last_error=exc,
                    ) from exc
                raise
            except BaseException:
                # A bug or an interrupt must still hand the permit back: a probe
                # that never reports holds the breaker HALF_OPEN until its timeout.
                breaker.record(permit, failed=True, duration_s=time.perf_counter() - started)
                raise
            duration = time.perf_counter() - started
            breaker.record(permit, failed=False, duration_s=duration)
            if report is not None:
                report(attempt, value, None, duration, "ok")
            return value, attempt

    # -- plumbing ---------------------------------------------------------

    def _post(self, provider: ProviderConfig, call: HttpCall, context: CallContext) -> Any:
        headers = {**provider.extra_headers, **call.headers}
        traceparent = _traceparent(context)
        if traceparent:
            headers["traceparent"] = traceparent
        try:
            response = self._pool(provider).post(provider.base_url + call.path, json=call.payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(f"{provider.name}: {type(exc).__name__}", provider=provider.name) from exc
        except httpx.TransportError as exc:
            raise ProviderConnectionError(f"{provider.name}: {type(exc).__name__}", provider=provider.name) from exc
        if not response.is_success:
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            raise ProviderHTTPError(
                f"{provider.name}: HTTP {response.status_code}",
                provider=provider.name,
                status=response.status_code,
                retry_after_s=parse_retry_after(response.headers),
                provider_error_type=error_type(body),
            )
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderResponseError(f"{provider.name}: response is not JSON", provider=provider.name) from exc

    def _api_key(self, provider: ProviderConfig) -> str | None:
        # Read per call so a rotated key is picked up without a restart.
        if provider.api_key_env is None:
            return None
        # Checked again here, not only when the row was saved: a name edited in the database
        # directly must not send DATABASE_URL (or any other server variable) to a provider.
        refusal = secret_env_name_error(provider.api_key_env)
        if refusal is not None:
            raise ProviderConfigError(f"provider {provider.name!r}: {refusal}", provider=provider.name)
        key = os.environ.get(provider.api_key_env)
        if not key:
            raise ProviderConfigError(
                f"provider {provider.name!r}: environment variable {provider.api_key_env} is not set",
                provider=provider.name,
            )
        return key

    def _pool(self, provider: ProviderConfig) -> httpx.Client:
        key: _PoolKey = (
            provider.base_url,
            provider.connect_timeout_s,
            provider.read_timeout_s,
            provider.max_connections,
        )
        pool = self._pools.get(key)
        if pool is not None and self._pid == os.getpid():
            return pool
        with self._lock:
            if self._pid != os.getpid():
                # Forked (gunicorn/Celery prefork): sockets inherited from the
                # parent must not be shared, so start with fresh pools.
                self._pools = {}
                self._pid = os.getpid()
            pool = self._pools.get(key)
            if pool is None:
                pool = httpx.Client(
                    timeout=httpx.Timeout(
                        connect=provider.connect_timeout_s,
                        read=provider.read_timeout_s,
                        write=provider.read_timeout_s,
                        pool=provider.connect_timeout_s,
                    ),
                    limits=httpx.Limits(
                        max_connections=provider.max_connections,
                        max_keepalive_connections=provider.max_connections,
                    ),
                )
                self._pools[key] = pool
            return pool

    def _budget(self, provider: ProviderConfig) -> RetryBudget:
        key = (provider.name, provider.retry)
        budget = self._budgets.get(key)
        if budget is None:
            with self._lock:
                budget = self._budgets.setdefault(key, RetryBudget(provider.retry, clock=self._monotonic))
        return budget


def _payload_hash(kind: str, model: str, path: str, payload: Mapping[str, Any]) -> str:
    canonical = {"provider_kind": kind, "model": model, "path": path, "payload": payload}
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


def _reported_input_tokens(body: Mapping[str, Any], default: int) -> int:
    """The input tokens an endpoint says it processed (OpenAI or Anthropic style), else ``default``."""
    usage = body.get("usage")
    if isinstance(usage, Mapping):
        for name in ("prompt_tokens", "input_tokens"):
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
    return default


_client: LlmClient | None = None
_client_lock = threading.Lock()


def _default_store() -> BreakerStore:
    url = os.environ.get("REDIS_URL")
    if not url:
        return MemoryBreakerStore()
    # Short socket timeouts: a hung Redis must degrade to per-process breakers
    # (see RedisBreakerStore), not stall every model call.
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30)
    return RedisBreakerStore(client)


def configure(
    *,
    breaker_store: BreakerStore | None = None,
    clock: Clock | None = None,
    sleep: Callable[[float], None] | None = None,
    rng: Callable[[], float] | None = None,
) -> LlmClient:
    """Replace the process-wide client (start-up or tests) and return it.

    Without ``breaker_store``: Redis when ``REDIS_URL`` is set, else memory.
    Subscribers of the ``breaker_state_changed`` hook keep receiving transitions;
    listeners added with ``client.breakers.on_state_change`` stay on the old client.
    """
    global _client
    client = LlmClient(
        breaker_store=breaker_store if breaker_store is not None else _default_store(),
        clock=clock or time.time,
        sleep=sleep or time.sleep,
        rng=rng or random.random,
    )
    with _client_lock:
        previous, _client = _client, client
    if previous is not None:
        previous.close()
    return client


def get_client() -> LlmClient:
    """The process-wide client, created on first use with the defaults."""
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = LlmClient(breaker_store=_default_store())
            client = _client
    return client
