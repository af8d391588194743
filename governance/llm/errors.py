"""Typed errors of the LLM client, each with a stable ``code``.

The codes are part of the API (they end up in JSON error bodies, usage events
and alerts), so they never change once released. ``retryable`` is what the
retry loop consults; ``breaker_failure`` is whether the outcome counts against
the provider's health (a 400 says the request was wrong, not the provider).
"""

from __future__ import annotations

from typing import ClassVar


class LlmError(Exception):
    code: ClassVar[str] = "llm_error"
    retryable: bool = False
    breaker_failure: bool = True

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider


class BreakerOpenError(LlmError):
    """Raised before any network call while the breaker rejects calls."""

    code = "breaker_open"
    breaker_failure = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        breaker_key: str = "",
        state: str = "open",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.breaker_key = breaker_key
        self.state = state
        self.retry_after_s = retry_after_s


class ProviderTimeoutError(LlmError):
    code = "provider_timeout"
    retryable = True


class ProviderConnectionError(LlmError):
    """The provider could not be reached (refused, reset, DNS, TLS)."""

    code = "provider_unreachable"
    retryable = True


class ProviderHTTPError(LlmError):
    code = "provider_http_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int,
        retry_after_s: float | None = None,
        provider_error_type: str = "",
    ) -> None:
        super().__init__(message, provider=provider)
        self.status = status
        self.retry_after_s = retry_after_s
        self.provider_error_type = provider_error_type
        # Only throttling and server-side failures are transient, and only they
        # say anything about the provider's health (a 400 or 401 is our fault).
        transient = status == 429 or status >= 500
        self.retryable = transient
        self.breaker_failure = transient


class RetryBudgetExhaustedError(LlmError):
    """A retry was warranted but the per-process retry budget was spent.

    The error that would have been retried is ``last_error`` (and ``__cause__``).
    """

    code = "retry_budget_exhausted"
    breaker_failure = False

    def __init__(self, message: str, *, provider: str = "", last_error: LlmError) -> None:
        super().__init__(message, provider=provider)
        self.last_error = last_error


class ProviderResponseError(LlmError):
    """The provider answered 2xx with a body we cannot parse."""

    code = "provider_bad_response"


class ProviderConfigError(LlmError):
    """The provider is misconfigured (e.g. its API key variable is not set)."""

    code = "provider_misconfigured"
    breaker_failure = False
