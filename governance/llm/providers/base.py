"""Shapes shared by the provider adapters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from governance.llm.errors import LlmError, ProviderHTTPError, ProviderResponseError
from governance.llm.types import Usage


@dataclass(frozen=True, slots=True)
class HttpCall:
    """What to POST: ``path`` is appended to the provider's ``base_url``."""

    path: str
    # Carries the API key: kept out of repr so a logged or reported value never shows it.
    headers: dict[str, str] = field(repr=False)
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderReply:
    text: str
    model: str
    usage: Usage
    finish_reason: str | None


def as_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProviderResponseError(f"{what} is not a JSON object")
    return value


def token_count(value: Any, what: str) -> int:
    """A token count from a usage block; absent or null means 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProviderResponseError(f"{what} is not a non-negative integer")
    return int(value)


def error_type(body: Any) -> str:
    """The provider's error type (``rate_limit_error``...) from an error body.

    Only the type is kept, never the message: provider messages can quote a
    masked API key or part of the prompt, and these errors end up in logs.
    """
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            kind = error.get("type") or error.get("code")
            if isinstance(kind, str):
                return kind[:100]
    return ""


@dataclass
class StreamAccumulator:
    """What a provider's stream has said so far (filled in by its ``parse_stream_event``)."""

    model: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    done: bool = False


# Error types providers send inside a stream, as the HTTP status they stand for: a stream that
# fails this way before its first text is retried like the same status would be.
_STREAM_ERROR_STATUS = {
    "overloaded_error": 529,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "api_error": 500,
    "server_error": 500,
    "internal_server_error": 500,
    "timeout": 504,
}


def stream_error(body: Any, provider_kind: str) -> LlmError:
    """The typed error for an error event inside a stream (never its message: see ``error_type``)."""
    kind = error_type(body)
    status = _STREAM_ERROR_STATUS.get(kind)
    if status is None:
        return ProviderResponseError(f"{provider_kind} stream error: {kind or 'unknown'}")
    return ProviderHTTPError(f"{provider_kind} stream error: {kind}", status=status, provider_error_type=kind)
