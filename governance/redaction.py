"""Redacting stored content through the ``redact`` filter of the hook registry.

The guardrails app subscribes its PII/secret redactor in its ``AppConfig.ready()``; the core
(provenance: envelopes, spans) calls :func:`redact` when a project keeps content
``redacted``. With no redactor subscribed, :func:`has_redactor` is false and callers keep
only a hash: raw text is never stored for a project that asked for redaction.
"""

from __future__ import annotations

from typing import Any

from governance import hooks
from governance.hooks import REDACT, NoSubscriberError

__all__ = ["NoSubscriberError", "has_redactor", "redact", "redact_value"]


def has_redactor() -> bool:
    return hooks.has_subscribers(REDACT)


def redact(text: str) -> str:
    """``text`` passed through every redactor; raises ``NoSubscriberError`` when there is none."""
    return hooks.apply(REDACT, text)


def redact_value(value: Any) -> Any:
    """Redact every string inside a JSON value (dict keys are kept: they are structure, not content)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    return value
