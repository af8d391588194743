"""Storage rules: the provenance redactor compiled into a policy's own scan. They never decide
anything; their spans only produce the texts provenance stores."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from guardrails.engine import (
    Decision,
    FailMode,
    PolicySpec,
    RuleSpec,
    cache_info,
    cached_policy,
    check,
    compile_policy,
)

RuleFactory = Callable[..., RuleSpec]


@pytest.fixture
def storage_rules(make_rule: RuleFactory) -> tuple[RuleSpec, ...]:
    return (make_rule("pii", {"entities": {"email": True}}, action="redact", rule_id="store-pii"),)


def _spec(rules: tuple[RuleSpec, ...], storage: tuple[RuleSpec, ...], fail_mode: str = "open") -> PolicySpec:
    return PolicySpec(id="p", slug="p", version=1, fail_mode=FailMode(fail_mode), rules=rules, storage_rules=storage)


def test_storage_rules_never_decide(make_rule: RuleFactory, storage_rules: tuple[RuleSpec, ...]) -> None:
    compiled = compile_policy(_spec((make_rule("phrases", {"phrases": ["launch code"]}),), storage_rules), cache=False)
    result = check(compiled, text="mail a@b.example", stage="input")
    assert (result.decision, result.hits, result.errors, result.text) == (Decision.ALLOW, (), (), "mail a@b.example")
    assert (result.stored_input, result.stored_output) == ("mail [EMAIL]", "mail [EMAIL]")
    assert "stored_input" not in result.to_dict()


def test_stored_output_merges_the_policys_redactions(
    make_rule: RuleFactory, storage_rules: tuple[RuleSpec, ...]
) -> None:
    rule = make_rule("regex", {"patterns": [r"id-\d+"], "entity": "ID"}, action="redact")
    compiled = compile_policy(_spec((rule,), storage_rules), cache=False)
    result = check(compiled, text="id-42 of a@b.example", stage="output")
    assert result.text == "[ID] of a@b.example"
    assert result.stored_input == "id-42 of [EMAIL]"
    assert result.stored_output == "[ID] of [EMAIL]"
    assert [h.rule_id for h in result.hits] == [rule.id]


def test_without_storage_rules_there_is_nothing_stored(make_rule: RuleFactory) -> None:
    compiled = compile_policy(_spec((make_rule("pii", {}),), ()), cache=False)
    result = check(compiled, text="a@b.example", stage="output")
    assert (result.stored_input, result.stored_output) == (None, None)


def test_a_failing_storage_rule_yields_no_stored_text_and_leaves_the_check_alone(
    make_rule: RuleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import guardrails.engine.detectors as detectors

    def broken(text: str, start: int, end: int) -> tuple[int, int] | None:
        raise ValueError("validator bug")

    patched = tuple(
        dataclasses.replace(d, validator=broken) if d.key == "phone" else d for d in detectors.PII_DETECTORS
    )
    monkeypatch.setattr(detectors, "PII_DETECTORS", patched)
    storage = (make_rule("pii", {"entities": {"phone": True}}, action="redact", rule_id="store-phone"),)
    policy_rule = make_rule("phrases", {"phrases": ["launch code"]}, fail_mode="closed")
    compiled = compile_policy(_spec((policy_rule,), storage, fail_mode="closed"), cache=False)
    result = check(compiled, text="call +1 415 555 0100", stage="input")
    assert (result.decision, result.errors) == (Decision.ALLOW, ())  # not the policy's failure
    assert (result.stored_input, result.stored_output) == (None, None)  # nothing raw to store by mistake


def test_a_storage_rule_must_be_a_span_kind(make_rule: RuleFactory) -> None:
    storage = (make_rule("classifier", {}, action="flag", rule_id="store-cls"),)
    compiled = compile_policy(_spec((), storage), cache=False)
    assert "a storage rule must be a tier-1 kind with spans" in compiled.compile_errors[0][1]
    assert check(compiled, text="x", stage="input").stored_input is None


def test_with_and_without_storage_rules_are_cached_apart(
    make_rule: RuleFactory, storage_rules: tuple[RuleSpec, ...]
) -> None:
    spec = _spec((make_rule("phrases", {"phrases": ["x y"]}),), ())
    plain = cached_policy("p", 1, lambda: spec)
    with_storage = cached_policy("p", 1, lambda: spec, storage_rules=storage_rules)
    assert plain is not with_storage
    assert with_storage.spec.storage_rules == storage_rules
    assert cached_policy("p", 1, lambda: spec, storage_rules=storage_rules) is with_storage
    assert cache_info()["size"] == 2
