"""The guard engine: plain Python, no Django.

The Django layer builds a `PolicySpec` from the policy and its rules, gets the compiled form
with `compile_policy` (cached by policy id and version), and calls `check`::

    compiled = compile_policy(spec)
    result = check(compiled, text=text, stage="input", backends=backends, context=context)
    result.decision, result.text, result.hits, result.errors

Rule kinds are plug-ins registered in `KINDS` (`guardrails.engine.kinds`); `validate_rule`
and `rule_config_schema` serve the admin form and the API, `preview_rule` the admin's "what
would this rule have matched" view, `parse_verdict` reads a judge model's JSON verdict
(the eval judges use it too), `guardrails.engine.schema_validation` is the bounded,
RE2-backed JSON Schema validator, and `DEFAULT_POLICY_RULES` seeds the ``default`` policy.
"""

from guardrails.engine.backends import BackendRefused, Backends, ClassifierBackend, GuardTimeout, LlmJudge
from guardrails.engine.compiler import (
    CompiledPolicy,
    cache_info,
    cached_policy,
    clear_cache,
    compile_policy,
)
from guardrails.engine.defaults import DEFAULT_POLICY_RULES, DEFAULT_POLICY_SLUG, DEFAULT_REDACTION_RULES
from guardrails.engine.engine import ABSOLUTE_MAX_CHARS, TextTooLarge, check
from guardrails.engine.kinds import KINDS, RuleKind, register_kind
from guardrails.engine.normalize import NormalizedText, normalize
from guardrails.engine.preview import PreviewMatch, preview_rule
from guardrails.engine.types import (
    Action,
    CheckResult,
    Decision,
    FailMode,
    GuardErrorRecord,
    Hit,
    PolicySpec,
    Redaction,
    RuleSpec,
    Severity,
    Stage,
    Tier,
)
from guardrails.engine.validation import rule_config_schema, validate_rule
from guardrails.engine.verdicts import GUARD_VERDICTS, InvalidVerdict, Verdict, parse_verdict

__all__ = [
    "ABSOLUTE_MAX_CHARS",
    "DEFAULT_POLICY_RULES",
    "DEFAULT_POLICY_SLUG",
    "DEFAULT_REDACTION_RULES",
    "GUARD_VERDICTS",
    "KINDS",
    "Action",
    "BackendRefused",
    "Backends",
    "CheckResult",
    "ClassifierBackend",
    "CompiledPolicy",
    "Decision",
    "FailMode",
    "GuardErrorRecord",
    "GuardTimeout",
    "Hit",
    "InvalidVerdict",
    "LlmJudge",
    "NormalizedText",
    "PolicySpec",
    "PreviewMatch",
    "Redaction",
    "RuleKind",
    "RuleSpec",
    "Severity",
    "Stage",
    "TextTooLarge",
    "Tier",
    "Verdict",
    "cache_info",
    "cached_policy",
    "check",
    "clear_cache",
    "compile_policy",
    "normalize",
    "parse_verdict",
    "preview_rule",
    "register_kind",
    "rule_config_schema",
    "validate_rule",
]
