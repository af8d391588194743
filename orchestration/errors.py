"""The governed call's typed errors. Their ``code`` is part of the API contract (never renamed).

Every caller (pipeline steps, eval judges, the gateway) handles the same five codes:

``blocked`` (422)
    A guard blocked the input (no model call, nothing spent) or the output.
``budget_exceeded`` (402)
    A budget, or the caller's own cap, refused the call's worst case: no model call.
``rate_limited`` (429)
    Every endpoint's outbound quota is exhausted for longer than the caller may wait.
    ``retry_after_s`` says when to try again.
``provider_unavailable`` (503)
    No endpoint answered: breakers open, timeouts, provider errors after retries.
``invalid_request`` (400)
    The call cannot be made as asked (unknown alias or prompt, a prompt variable missing,
    bad messages). ``detail["reason"]`` names the cause.

Errors raised after the call was admitted carry ``envelope_id``: the one decision envelope
recorded for the call. ``invalid_request`` raised while validating the arguments records none.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from governance.errors import ArbiterError


class GovernedCallError(ArbiterError):
    code_name: ClassVar[str] = ""
    http_status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        detail: Any = None,
        envelope_id: uuid.UUID | None = None,
        trace_id: str = "",
    ) -> None:
        super().__init__(self.code_name, message, status_code=self.http_status, detail=detail)
        self.envelope_id = envelope_id
        self.trace_id = trace_id


class CallBlocked(GovernedCallError):
    code_name = "blocked"
    http_status = 422

    def __init__(self, message: str, *, stage: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.stage = stage


class CallBudgetExceeded(GovernedCallError):
    code_name = "budget_exceeded"
    http_status = 402


class CallRateLimited(GovernedCallError):
    code_name = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s


class ProviderUnavailable(GovernedCallError):
    code_name = "provider_unavailable"
    http_status = 503


class InvalidCallRequest(GovernedCallError):
    code_name = "invalid_request"
    http_status = 400


ERROR_CODES = frozenset(
    cls.code_name for cls in (CallBlocked, CallBudgetExceeded, CallRateLimited, ProviderUnavailable, InvalidCallRequest)
)
