"""The guardrails verbs (the only code that changes guardrails rows or writes their envelopes).

- `policies`: create, save and delete policies and rules; every change publishes a version.
- `checks`: ``check`` text against a published policy (the hot path) and record it.
- `redaction`: the redactor for what provenance stores (subscribed to the core's ``redact`` hook).
- `demo`: the demo's policies and traffic.

Reads (recent texts, hit counts) are in `guardrails.selectors`.
"""

from guardrails.services.checks import GuardCheck, check, check_batch
from guardrails.services.demo import DEMO_TRAFFIC, demo_seed
from guardrails.services.policies import (
    policy_create,
    policy_default_ensure,
    policy_publish,
    policy_save,
    rule_delete,
    rule_save,
)
from guardrails.services.redaction import STORAGE_REDACTION_RULES, redact_text

__all__ = [
    "DEMO_TRAFFIC",
    "STORAGE_REDACTION_RULES",
    "GuardCheck",
    "check",
    "check_batch",
    "demo_seed",
    "policy_create",
    "policy_default_ensure",
    "policy_publish",
    "policy_save",
    "redact_text",
    "rule_delete",
    "rule_save",
]
