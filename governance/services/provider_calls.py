"""Calling a configured model provider: the ``Provider`` rows of the admin, through the one LLM client.

:func:`provider_call` resolves the ``Provider`` row into the plain-Python client's
``ProviderConfig``, fills the call context from the current trace and the caller's tags, and
goes through the shared client (breaker, retries, one ``provider_call_attempted`` hook per
attempt). The cost ledger and provenance spans hear of each attempt through that hook;
nothing here knows about them.

This is the raw verb. Every call Arbiter makes is budgeted: the guard's tiers wrap it in the
costs app's spending protocol (``costs.services.spending``), and everything above guardrails
calls models only through orchestration's governed model call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from governance import tracing
from governance.choices import AlertKind, AlertSeverity
from governance.errors import ArbiterError
from governance.llm import (
    BreakerConfig,
    BreakerSnapshot,
    CallContext,
    ChatMessage,
    ChatRequest,
    ChatResult,
    ProviderConfig,
    RetryConfig,
    StateChange,
    get_client,
)
from governance.models import ModelEndpoint, Project, Provider
from governance.services.alerts import alert_raise


def provider_config(provider: Provider) -> ProviderConfig:
    """The client's view of a provider row. The key itself stays in the environment."""
    return ProviderConfig(
        name=provider.name,
        kind=provider.kind,  # type: ignore[arg-type]
        base_url=provider.base_url,
        api_key_env=provider.api_key_env or None,
        connect_timeout_s=provider.connect_timeout_s,
        read_timeout_s=provider.read_timeout_s,
        retry=RetryConfig(
            max_attempts=provider.max_attempts,
            backoff_base_s=provider.backoff_base_s,
            backoff_max_s=provider.backoff_max_s,
            retry_budget_ratio=provider.retry_budget_ratio,
        ),
        breaker=BreakerConfig(
            window_size=provider.breaker_window_size,
            minimum_calls=min(provider.breaker_minimum_calls, provider.breaker_window_size),
            failure_rate_threshold=provider.breaker_failure_rate,
            slow_call_duration_s=provider.breaker_slow_call_s,
            slow_call_rate_threshold=provider.breaker_slow_call_rate,
            wait_in_open_s=provider.breaker_wait_in_open_s,
            half_open_permitted_calls=provider.breaker_half_open_calls,
        ),
        offline=provider.offline_config or {},
    )


def provider_call_deadline_s(provider: Provider) -> float:
    """The longest one call to ``provider`` can take through the client, all attempts included.

    Per attempt: waiting for a pooled connection and connecting (each bounded by the connect
    timeout), sending and reading (each bounded by the read timeout, which the client also uses
    as its write timeout); between attempts at most ``backoff_max_s`` (a ``Retry-After`` asking
    for more is not retried). Budget holds live at least this long, so a call cannot settle
    after its hold expired. The read timeout bounds each read, not the whole body: a provider
    trickling bytes can outlast it, and such a late settle is recorded as an overrun.
    """
    per_attempt = 2 * provider.connect_timeout_s + 2 * provider.read_timeout_s
    return provider.max_attempts * per_attempt + (provider.max_attempts - 1) * provider.backoff_max_s


@dataclass(frozen=True)
class ModelRef:
    provider: Provider
    model: str


def model_resolve(*, provider: str, model: str) -> ModelRef:
    """Find an enabled provider and model by name, or raise ``unknown_model`` (400)."""
    row = Provider.objects.filter(name=provider, enabled=True).first()
    if row is None:
        raise ArbiterError("unknown_provider", f"No enabled provider named {provider!r}.")
    if not ModelEndpoint.objects.filter(provider=row, name=model, enabled=True).exists():
        raise ArbiterError("unknown_model", f"Provider {provider!r} has no enabled model {model!r}.")
    return ModelRef(provider=row, model=model)


def provider_call(
    *,
    provider: Provider,
    model: str,
    messages: Sequence[tuple[str, str]],
    system: str | None = None,
    max_tokens: int = 1024,
    temperature: float | None = None,
    json_response: bool = False,
    project: Project | None = None,
    api_key_id: int | None = None,
    feature: str = "",
    customer: str = "",
    pipeline: str = "",
    run_id: str = "",
    step: str = "",
    purpose: str = "",
    reservation_id: str = "",
) -> ChatResult:
    """One chat call through the shared client. Raises ``governance.llm.LlmError`` subclasses.

    ``reservation_id`` (a budget reservation of ``costs.services.spending``) travels in the call
    context to every attempt's usage event, so the ledger rows name the reservation they settle.
    """
    ctx = tracing.current()
    context = CallContext(
        trace_id=ctx.trace_id if ctx else "",
        span_id=ctx.span_id if ctx else "",
        project_id=project.pk if project else None,
        api_key_id=api_key_id,
        feature=feature,
        customer=customer,
        pipeline=pipeline,
        run_id=run_id,
        step=step,
        purpose=purpose,
        reservation_id=reservation_id,
    )
    request = ChatRequest(
        model=model,
        messages=tuple(ChatMessage(role, content) for role, content in messages),  # type: ignore[arg-type]
        system=system,
        max_tokens=max_tokens,
        temperature=temperature,
        json_response=json_response,
        metadata=context,
    )
    return get_client().complete(provider_config(provider), request)


def breaker_list() -> list[BreakerSnapshot]:
    return sorted(get_client().breakers.snapshots(), key=lambda s: s.key)


def breaker_reset(*, key: str) -> None:
    """Force a breaker closed (an operator's override after fixing the dependency)."""
    get_client().breakers.reset(key)


def breaker_alert(change: StateChange) -> None:
    """Raise an alert when a breaker opens; one per breaker per alert period."""
    if str(change.current) != "open":
        return
    alert_raise(
        kind=AlertKind.BREAKER_OPEN,
        subject=f"breaker:{change.key}",
        severity=AlertSeverity.CRITICAL,
        message=f"Circuit breaker {change.key} opened ({change.reason}); calls are rejected until it recovers.",
        payload={
            "key": change.key,
            "previous": str(change.previous),
            "reason": change.reason,
            "failure_rate": change.failure_rate,
            "slow_call_rate": change.slow_call_rate,
        },
    )
