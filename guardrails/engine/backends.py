"""What the caller injects for tiers 2 and 3.

The engine never opens a connection itself: the Django layer passes a `Backends` with a
classifier per backend name (a classifier rule's ``backend`` setting) (e.g. ``"remote"`` over the shared LLM client) and
an LLM judge. Timeouts are the backend's job (the HTTP client has one); a backend signals
one by raising `GuardTimeout` or the built-in `TimeoutError`, or any exception whose class
name contains ``Timeout`` (e.g. ``httpx.ReadTimeout``). A backend that declines to make its
call (e.g. a budget refused it) raises `BackendRefused` with a stable code, which becomes the
guard error's code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from guardrails.engine.types import RuleSpec


class GuardTimeout(TimeoutError):
    """Raised by a backend whose call ran out of time."""


class BackendRefused(Exception):
    """Raised by a backend that did not make its call, with the guard error code to record
    (e.g. ``budget_exceeded``); the rule's fail mode applies as for any guard error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@runtime_checkable
class ClassifierBackend(Protocol):
    def score(self, text: str, rule: RuleSpec) -> float:
        """P(the text is what the rule's classifier looks for, e.g. an injection), in [0, 1]."""
        ...


@runtime_checkable
class LlmJudge(Protocol):
    def judge(self, text: str, rule: RuleSpec) -> Mapping[str, Any]:
        """The model's parsed JSON verdict: ``{"verdict": "block"|"allow"|"flag",
        "score": float, "reason": str}``. Raise on transport errors; the engine validates
        the shape and treats anything else as a guard error."""
        ...


@dataclass(frozen=True, slots=True)
class Backends:
    classifiers: Mapping[str, ClassifierBackend] = field(default_factory=dict)
    llm_judge: LlmJudge | None = None


def is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__
