"""Compilation and the (policy id, version) cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guardrails.engine import (
    FailMode,
    PolicySpec,
    RuleSpec,
    Tier,
    cache_info,
    cached_policy,
    check,
    compile_policy,
)
from guardrails.engine.compiler import _CACHE, RAW, SKELETON

RuleFactory = Callable[..., RuleSpec]


def spec(rules: tuple[RuleSpec, ...], *, version: int = 1, policy_id: int = 7) -> PolicySpec:
    return PolicySpec(id=policy_id, slug="p", version=version, fail_mode=FailMode.OPEN, rules=rules)


def test_cached_by_id_and_version(make_rule: RuleFactory) -> None:
    v1 = spec((make_rule("phrases", {"phrases": ["alpha"]}),), version=1)
    assert compile_policy(v1) is compile_policy(v1)
    # Same version, different rules: the cache trusts the version (the caller bumps it).
    same_version = spec((make_rule("phrases", {"phrases": ["beta"]}),), version=1)
    assert compile_policy(same_version) is compile_policy(v1)
    v2 = spec((make_rule("phrases", {"phrases": ["beta"]}),), version=2)
    compiled = compile_policy(v2)
    assert compiled is not compile_policy(v1)
    assert check(compiled, text="beta", stage="input").blocked
    assert cache_info()["size"] == 2


def test_cached_policy_builds_only_on_a_miss(make_rule: RuleFactory) -> None:
    calls: list[int] = []

    def build() -> PolicySpec:
        calls.append(1)
        return spec((make_rule("phrases", {"phrases": ["alpha"]}),), version=3)

    first = cached_policy(7, 3, build)
    assert cached_policy(7, 3, build) is first
    assert calls == [1]


def test_lru_evicts_the_oldest(make_rule: RuleFactory, monkeypatch: Any) -> None:
    monkeypatch.setattr(_CACHE, "size", 2)
    rule = make_rule("phrases", {"phrases": ["alpha"]})
    a, _b, c = (compile_policy(spec((rule,), version=v)) for v in (1, 2, 3))
    assert len(_CACHE) == 2
    assert compile_policy(spec((rule,), version=3)) is c
    assert compile_policy(spec((rule,), version=1)) is not a


def test_one_set_per_view_and_shared_patterns(make_rule: RuleFactory) -> None:
    rules = (
        make_rule("pii", {"entities": {"email": True}}, stage="input"),
        make_rule("pii", {"entities": {"email": True}}, stage="input"),
        make_rule("regex", {"patterns": ["foo", "bar"]}, stage="input"),
        make_rule("phrases", {"phrases": ["baz qux"]}, stage="input"),
        make_rule("classifier", {}, stage="input"),
        make_rule("length", {"max_chars": 10}, stage="output"),
    )
    compiled = compile_policy(spec(rules), cache=False)
    views = [s.view for s in compiled.input.sets]
    assert views == [RAW, SKELETON]
    raw = compiled.input.sets[0]
    email = [e for e in raw.entries if "@" in e.pattern]
    assert len(email) == 1  # one scan serves both rules
    assert len(email[0].consumers) == 2
    assert [p.spec.kind for p in compiled.input.programs(Tier.CLASSIFIER)] == ["classifier"]
    assert compiled.output.sets == ()
    assert [p.spec.kind for p in compiled.output.whole_rules] == ["length"]


def test_rule_fail_mode_resolution(make_rule: RuleFactory) -> None:
    rules = (make_rule("classifier", {}), make_rule("classifier", {}, fail_mode="closed"))
    policy = PolicySpec(id=1, slug="p", version=1, fail_mode=FailMode.OPEN, rules=rules)
    compiled = compile_policy(policy, cache=False)
    assert [p.fail_mode for p in compiled.input.programs(Tier.CLASSIFIER)] == [FailMode.OPEN, FailMode.CLOSED]
