"""The core's own receivers of its hooks, subscribed in ``GovernanceConfig.ready()``: one line each."""

from __future__ import annotations

from governance import degradation, metrics
from governance.dependencies import DependencyChange, DependencyFallback
from governance.hooks import AlertRaised
from governance.llm import StateChange, UsageEvent
from governance.middleware import RequestFinished
from governance.services.alerts import alert_observe
from governance.services.provider_calls import breaker_alert
from governance.services.spans import span_record_model_call, span_record_request


def provider_call_metrics(event: UsageEvent) -> None:
    metrics.record_model_call(event)


def provider_call_span(event: UsageEvent) -> None:
    span_record_model_call(event)


def breaker_metrics(change: StateChange) -> None:
    metrics.record_breaker_change(change)


def breaker_changed(change: StateChange) -> None:
    breaker_alert(change)


def request_span(event: RequestFinished) -> None:
    span_record_request(event.request, event.response, event.trace, event.elapsed_ms)


def alert_raised(event: AlertRaised) -> None:
    alert_observe(event)


def dependency_changed(change: DependencyChange) -> None:
    degradation.dependency_changed(change)


def dependency_fallback(event: DependencyFallback) -> None:
    degradation.dependency_fallback(event)
