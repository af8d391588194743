"""Redaction of what provenance stores, for projects that keep content "redacted".

One set of rules (the default policy's PII and secret redactors) serves two callers:

- a guard check compiles them into its policy as storage rules
  (`guardrails.engine.PolicySpec.storage_rules`), so the text it records is redacted by the
  same engine pass that checked it;
- `redact_text`, subscribed to the core's ``redact`` hook for every other envelope (reviews'
  corrections, envelopes posted by services), runs them alone.
"""

from __future__ import annotations

from guardrails.engine import DEFAULT_REDACTION_RULES, FailMode, PolicySpec, RuleSpec, cached_policy
from guardrails.engine import check as engine_check

__all__ = ["STORAGE_REDACTION_RULES", "redact_text"]

STORAGE_REDACTION_RULES: tuple[RuleSpec, ...] = DEFAULT_REDACTION_RULES

_REDACTOR_SPEC = PolicySpec(
    id="provenance-redactor",
    slug="provenance-redactor",
    version=1,
    fail_mode=FailMode.CLOSED,
    rules=STORAGE_REDACTION_RULES,
)


def redact_text(text: str) -> str:
    """PII and secrets replaced by typed placeholders: how envelopes store text for projects
    whose content storage is "redacted" (subscribed to the ``redact`` hook). Raises
    rather than return text it could not redact."""
    compiled = cached_policy(_REDACTOR_SPEC.id, _REDACTOR_SPEC.version, lambda: _REDACTOR_SPEC)
    result = engine_check(compiled, text=text, stage="output")
    if result.errors:
        raise RuntimeError("redaction failed; refusing to store unredacted text")
    return result.text
