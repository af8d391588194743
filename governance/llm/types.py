"""Plain, frozen values that go in and out of the LLM client.

Nothing here does I/O, so every app (and the costs ledger) can build and compare
these objects without a network, a database or Django.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

ProviderKind = Literal["openai", "anthropic", "offline"]
Role = Literal["system", "user", "assistant"]
CallStatus = Literal["ok", "error", "retry", "cancelled"]

PROVIDER_KINDS: frozenset[str] = frozenset({"openai", "anthropic", "offline"})
ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})
MAX_ATTEMPTS_CAP = 3


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    # A frozen dataclass still hands out its dict by reference; copy into a
    # read-only view so a caller mutating its own dict cannot change a config
    # that pooled HTTP clients and breakers were keyed on.
    return MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """Circuit-breaker settings, with resilience4j's meaning for each field.

    Rates are ratios in ``[0, 1]`` (resilience4j uses percentages).
    ``minimum_calls`` larger than ``window_size`` behaves as ``window_size``;
    ``max_wait_in_half_open_s = 0`` waits for the probes indefinitely.
    """

    window_size: int = 20
    minimum_calls: int = 10
    failure_rate_threshold: float = 0.5
    slow_call_duration_s: float = 10.0
    slow_call_rate_threshold: float = 1.0
    wait_in_open_s: float = 30.0
    half_open_permitted_calls: int = 3
    max_wait_in_half_open_s: float = 60.0

    def __post_init__(self) -> None:
        if self.window_size < 1 or self.minimum_calls < 1:
            raise ValueError("window_size and minimum_calls must be >= 1")
        if self.half_open_permitted_calls < 1:
            raise ValueError("half_open_permitted_calls must be >= 1")
        for name in ("failure_rate_threshold", "slow_call_rate_threshold"):
            rate = getattr(self, name)
            if not 0.0 < rate <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {rate!r}")
        for name in ("slow_call_duration_s", "wait_in_open_s", "max_wait_in_half_open_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """Retry policy: full-jitter exponential backoff plus a Finagle-style budget.

    Retries are allowed while ``retries_in_window < retry_budget_ratio *
    requests_in_window + retry_budget_min_per_s * retry_budget_window_s``.
    """

    max_attempts: int = 3
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_budget_ratio: float = 0.2
    retry_budget_min_per_s: float = 1.0
    retry_budget_window_s: float = 10.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS_CAP:
            raise ValueError(f"max_attempts must be between 1 and {MAX_ATTEMPTS_CAP}")
        if self.backoff_base_s < 0 or self.backoff_max_s < 0:
            raise ValueError("backoff delays must be >= 0")
        if self.retry_budget_ratio < 0 or self.retry_budget_min_per_s < 0:
            raise ValueError("retry budget ratio and minimum must be >= 0")
        if self.retry_budget_window_s <= 0:
            raise ValueError("retry_budget_window_s must be > 0")


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One model endpoint as configured in the admin.

    ``api_key_env`` names the environment variable holding the key; the key itself
    is read at call time and never stored on this object, logged or hashed.
    ``offline`` configures the built-in simulator (see ``providers.offline``).
    """

    name: str
    kind: ProviderKind
    base_url: str = ""
    api_key_env: str | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    retry: RetryConfig = field(default_factory=RetryConfig)
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    offline: Mapping[str, Any] = field(default_factory=dict, hash=False)
    extra_headers: Mapping[str, str] = field(default_factory=dict, hash=False)
    max_connections: int = 100

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("provider name is required")
        if self.kind not in PROVIDER_KINDS:
            raise ValueError(f"unknown provider kind {self.kind!r}")
        if self.kind != "offline" and not self.base_url:
            raise ValueError(f"provider {self.name!r} needs a base_url")
        if self.connect_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise ValueError("timeouts must be > 0")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        object.__setattr__(self, "offline", _frozen_mapping(self.offline))
        object.__setattr__(self, "extra_headers", _frozen_mapping(self.extra_headers))


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who is calling and why; travels to usage events, never to the hash."""

    trace_id: str = ""
    span_id: str = ""
    project_id: int | None = None
    api_key_id: int | None = None
    feature: str = ""
    customer: str = ""
    pipeline: str = ""
    run_id: str = ""
    step: str = ""
    purpose: str = ""
    #: The budget reservation this call spends against (``costs.services.spending``), if any.
    reservation_id: str = ""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown message role {self.role!r}")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    system: str | None = None
    max_tokens: int = 1024
    temperature: float | None = None
    json_response: bool = False
    metadata: CallContext = field(default_factory=CallContext)

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("model is required")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be >= 1")
        # Accept a list for convenience but keep the value immutable and hashable.
        object.__setattr__(self, "messages", tuple(self.messages))
        if not self.messages:
            raise ValueError("at least one message is required")


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts normalised across providers.

    ``uncached_input_tokens`` never includes cached tokens, whatever the provider's
    own convention (OpenAI's ``prompt_tokens`` includes them, Anthropic's
    ``input_tokens`` does not), so the ledger can price each bucket once.
    """

    uncached_input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0

    @property
    def input_tokens_total(self) -> int:
        return self.uncached_input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A completed chat call.

    ``model`` is what the provider says answered (may be a dated snapshot of the
    requested alias); ``latency_ms`` is the wall time of the whole call including
    retries and backoff; ``attempts`` counts HTTP (or simulated) attempts.
    """

    text: str
    model: str
    provider: str
    provider_kind: ProviderKind
    usage: Usage
    latency_ms: float
    attempts: int
    finish_reason: str | None
    simulated: bool
    request_hash: str


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """Published once per attempt of a chat call (see ``hooks``).

    ``status`` is ``"retry"`` when this attempt failed and a retry was scheduled,
    ``"error"`` when it failed and the call gives up, ``"ok"`` on success, and
    ``"cancelled"`` when the caller stopped reading a stream before it ended. A
    ``"retry"`` can be the last event of a call when the breaker opened before
    the retry (the call then raises ``BreakerOpenError``, no attempt, no event).
    ``model`` is the requested model, ``response_model`` what the provider returned
    (empty when the attempt failed).
    """

    provider: str
    provider_kind: ProviderKind
    model: str
    response_model: str
    usage: Usage
    latency_ms: float
    status: CallStatus
    attempt: int
    error_code: str | None
    request_hash: str
    context: CallContext
    occurred_at: datetime
    simulated: bool


def compute_request_hash(provider_kind: str, request: ChatRequest) -> str:
    """sha256 of the canonical JSON of what determines the model's answer.

    Metadata (trace, project, customer...) is deliberately left out so identical
    requests from different callers hash alike: that is how the costs app spots
    duplicate (recomputed) work.
    """
    canonical = {
        "provider_kind": provider_kind,
        "model": request.model,
        "system": request.system,
        "messages": [[m.role, m.content] for m in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "json": request.json_response,
    }
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class StateChange:
    """A transition, delivered to ``on_state_change`` listeners.

    ``reason`` is one of ``failure_rate``, ``slow_call_rate`` (CLOSED → OPEN),
    ``cool_down_elapsed`` (OPEN → HALF_OPEN), ``probes_failed``, ``probes_slow``,
    ``probes_timed_out`` (HALF_OPEN → OPEN), ``probes_succeeded`` (HALF_OPEN →
    CLOSED) and ``reset``. The rates are those that decided it.
    """

    key: str
    previous: BreakerState
    current: BreakerState
    reason: str
    failure_rate: float
    slow_call_rate: float
    at: float
