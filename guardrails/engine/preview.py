"""What a rule would have matched: the admin's preview of an unsaved rule on recent traffic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrails.engine.backends import Backends
from guardrails.engine.compiler import compile_policy
from guardrails.engine.engine import check
from guardrails.engine.types import Action, FailMode, PolicySpec, RuleSpec, Severity, Stage
from guardrails.engine.validation import validate_rule

__all__ = ["PreviewMatch", "preview_rule"]


@dataclass(frozen=True, slots=True)
class PreviewMatch:
    """What a rule matched in one sample (the admin shows `matched_text`)."""

    sample_index: int
    start: int
    end: int
    matched_text: str
    entity: str
    detail: str
    score: float | None = None
    error: str | None = None


def preview_rule(
    kind: str,
    config: Mapping[str, Any],
    samples: Sequence[str],
    *,
    backends: Backends | None = None,
) -> list[PreviewMatch]:
    """Run one rule over sample texts and list what it would have matched.

    Raises ValueError with the validation messages if the config is not valid. Tier-2/3
    rules need `backends`; without them each sample reports a ``backend_missing`` error.
    """
    problems = validate_rule(kind, config)
    if problems:
        raise ValueError("; ".join(problems))
    rule = RuleSpec(
        id="preview",
        name="preview",
        kind=kind,
        stage=Stage.BOTH,
        action=Action.FLAG,
        severity=Severity.LOW,
        config=config,
    )
    spec = PolicySpec(id="preview", slug="preview", version=0, fail_mode=FailMode.OPEN, rules=(rule,))
    compiled = compile_policy(spec, cache=False)
    matches: list[PreviewMatch] = []
    for index, sample in enumerate(samples):
        result = check(compiled, text=sample, stage=Stage.OUTPUT, backends=backends)
        for hit in result.hits:
            matches.append(
                PreviewMatch(
                    sample_index=index,
                    start=hit.start,
                    end=hit.end,
                    matched_text=sample[hit.start : hit.end],
                    entity=hit.entity,
                    detail=hit.detail,
                    score=hit.score,
                )
            )
        for error in result.errors:
            matches.append(
                PreviewMatch(
                    sample_index=index,
                    start=0,
                    end=0,
                    matched_text="",
                    entity="",
                    detail=error.error_code,
                    error=error.message,
                )
            )
    return matches
