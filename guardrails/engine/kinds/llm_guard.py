"""``llm_guard``: tier 3, a judge model's verdict on the text (the judge is injected).

A ``block`` verdict below the rule's threshold becomes a flag: the judge was not sure, so a
person reviews it instead of the text being blocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardrails.engine.kinds.base import (
    Assessment,
    ModelWindow,
    RuleError,
    RuleKind,
    object_schema,
    register_kind,
    threshold_schema,
)
from guardrails.engine.types import Action, RuleSpec, Tier
from guardrails.engine.verdicts import InvalidVerdict, parse_verdict

if TYPE_CHECKING:
    from guardrails.engine.backends import Backends

_DETAIL_CHARS = 300


@dataclass(frozen=True, slots=True)
class LlmGuardConfig:
    threshold: float


@register_kind
class LlmGuardKind(RuleKind[LlmGuardConfig]):
    name = "llm_guard"
    label = "LLM guard"
    tier = Tier.LLM_GUARD
    has_span = False

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "LLM guard",
            {
                "prompt": {
                    "type": "string",
                    "title": "Judge instructions",
                    "widget": "textarea",
                    "minLength": 1,
                    "maxLength": 20_000,
                },
                "threshold": threshold_schema(0.5, "A block verdict below this score becomes a flag."),
                "provider": {"type": "string", "title": "Provider"},
                "model": {"type": "string", "title": "Model"},
            },
            ["prompt"],
        )

    def compile(self, config: Mapping[str, Any]) -> LlmGuardConfig:
        return LlmGuardConfig(threshold=float(config.get("threshold", 0.5)))

    def assess(
        self,
        compiled: LlmGuardConfig,
        rule: RuleSpec,
        windows: Sequence[ModelWindow],
        backends: Backends | None,
    ) -> Iterator[Assessment]:
        judge = backends.llm_judge if backends is not None else None
        if judge is None:
            raise RuleError("backend_missing", "no LLM judge was provided")
        for window in windows:
            try:
                verdict, score, reason = parse_verdict(judge.judge(window.text, rule))
            except (InvalidVerdict, json.JSONDecodeError) as exc:
                # A judge that parses the model's answer itself fails with JSONDecodeError.
                raise RuleError("invalid_verdict", str(exc)) from exc
            if verdict == "allow":
                continue
            action = rule.action if verdict == "block" and score >= compiled.threshold else Action.FLAG
            yield Assessment(
                start=window.start,
                end=window.end,
                entity="LLM_VERDICT",
                score=score,
                detail=f"verdict {verdict} (score {score:.2f}): {reason}"[:_DETAIL_CHARS],
                action=action,
            )
