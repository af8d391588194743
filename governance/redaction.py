"""The redaction hook: how the core redacts stored content without importing the guardrails app.

The guardrails app registers its PII/secret engine in its ``AppConfig.ready()``::

    register_redactor(engine.redact_text)

Provenance calls :func:`redact` when a project keeps content ``redacted``. With no redactor
registered, :func:`has_redactor` is false and callers keep only a hash: raw text is never
stored for a project that asked for redaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Redactor = Callable[[str], str]

_lock = threading.Lock()
# Replaced, never mutated, so readers iterate a stable tuple without the lock.
_redactors: tuple[Redactor, ...] = ()


class NoRedactorError(RuntimeError):
    """``redact()`` was called while no redactor is registered."""


def register_redactor(fn: Redactor) -> Redactor:
    """Add ``fn`` (usable as a decorator); redactors run in registration order. Idempotent."""
    global _redactors
    with _lock:
        if fn not in _redactors:
            _redactors = (*_redactors, fn)
    return fn


def unregister_redactor(fn: Redactor) -> None:
    global _redactors
    with _lock:
        _redactors = tuple(r for r in _redactors if r != fn)


def has_redactor() -> bool:
    return bool(_redactors)


def redact(text: str) -> str:
    """``text`` passed through every registered redactor; raises ``NoRedactorError`` when there is none."""
    redactors = _redactors
    if not redactors:
        raise NoRedactorError("no redactor registered")
    for fn in redactors:
        text = fn(text)
    return text


def redact_value(value: Any) -> Any:
    """Redact every string inside a JSON value (dict keys are kept: they are structure, not content)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    return value


@contextmanager
def isolated_redactors(*redactors: Redactor) -> Iterator[None]:
    """Run a block with only ``redactors`` registered, then restore the previous ones (tests)."""
    global _redactors
    with _lock:
        saved, _redactors = _redactors, tuple(redactors)
    try:
        yield
    finally:
        with _lock:
            _redactors = saved
