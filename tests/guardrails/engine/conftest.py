"""Builders for guard-engine tests: plain objects, no Django."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from guardrails.engine import (
    CheckResult,
    CompiledPolicy,
    FailMode,
    PolicySpec,
    RuleSpec,
    check,
    clear_cache,
    compile_policy,
)

RuleFactory = Callable[..., RuleSpec]
PolicyFactory = Callable[..., CompiledPolicy]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def make_rule() -> RuleFactory:
    counter = iter(range(1, 10_000))

    def build(
        kind: str,
        config: Mapping[str, Any],
        *,
        action: str = "block",
        stage: str = "both",
        severity: str = "high",
        name: str | None = None,
        fail_mode: str | None = None,
        enabled: bool = True,
        rule_id: int | str | None = None,
    ) -> RuleSpec:
        n = next(counter)
        return RuleSpec(
            id=rule_id if rule_id is not None else n,
            name=name or f"{kind} rule {n}",
            kind=kind,
            stage=stage,  # type: ignore[arg-type]
            action=action,  # type: ignore[arg-type]
            severity=severity,  # type: ignore[arg-type]
            config=config,
            enabled=enabled,
            fail_mode=fail_mode,  # type: ignore[arg-type]
        )

    return build


@pytest.fixture
def make_policy() -> PolicyFactory:
    def build(
        *rules: RuleSpec,
        fail_mode: str = "open",
        version: int = 1,
        policy_id: int | str = "p1",
        max_text_chars: int = 65536,
        window_overlap: int = 4096,
    ) -> CompiledPolicy:
        spec = PolicySpec(
            id=policy_id,
            slug="test",
            version=version,
            fail_mode=FailMode(fail_mode),
            rules=rules,
            max_text_chars=max_text_chars,
            window_overlap=window_overlap,
        )
        return compile_policy(spec, cache=False)

    return build


@pytest.fixture
def run_rule(make_rule: RuleFactory, make_policy: PolicyFactory) -> Callable[..., CheckResult]:
    """Check a text against a policy of one rule."""

    def run(
        kind: str,
        config: Mapping[str, Any],
        text: str,
        *,
        stage: str = "input",
        action: str = "block",
        context: Mapping[str, Any] | None = None,
    ) -> CheckResult:
        compiled = make_policy(make_rule(kind, config, action=action))
        assert compiled.compile_errors == ()
        return check(compiled, text=text, stage=stage, context=context)

    return run
