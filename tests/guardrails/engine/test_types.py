from __future__ import annotations

import pytest

from guardrails.engine import Action, Decision, FailMode, PolicySpec, RuleSpec, Severity, Stage, Tier
from guardrails.engine.types import strongest


def test_rule_spec_coerces_strings() -> None:
    rule = RuleSpec(
        id=1,
        name="r",
        kind="regex",
        stage="input",  # type: ignore[arg-type]
        action="redact",  # type: ignore[arg-type]
        severity="critical",  # type: ignore[arg-type]
        config={"patterns": ["x"]},
        fail_mode="closed",  # type: ignore[arg-type]
    )
    assert (rule.stage, rule.action, rule.severity, rule.fail_mode) == (
        Stage.INPUT,
        Action.REDACT,
        Severity.CRITICAL,
        FailMode.CLOSED,
    )
    assert rule.applies_to(Stage.INPUT)
    assert not rule.applies_to(Stage.OUTPUT)


def test_rule_spec_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="sideways"):
        RuleSpec(id=1, name="r", kind="regex", stage="sideways", action="block", severity="low", config={})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        RuleSpec(id=1, name="r", kind="regex", stage="input", action="block", severity="low", config=[])  # type: ignore[arg-type]


def test_policy_spec_limits() -> None:
    with pytest.raises(ValueError, match="max_text_chars"):
        PolicySpec(id=1, slug="p", version=1, fail_mode=FailMode.OPEN, rules=(), max_text_chars=10)
    with pytest.raises(ValueError, match="window_overlap"):
        PolicySpec(id=1, slug="p", version=1, fail_mode=FailMode.OPEN, rules=(), window_overlap=40_000)


def test_precedence() -> None:
    assert strongest(Decision.FLAG, Decision.REDACT) is Decision.REDACT
    assert strongest(Decision.BLOCK, Decision.REDACT) is Decision.BLOCK
    assert strongest(Decision.ALLOW, Decision.FLAG) is Decision.FLAG
    assert sorted(Tier) == [Tier.RULES, Tier.CLASSIFIER, Tier.LLM_GUARD]
    assert Tier.LLM_GUARD.label == "llm_guard"
