"""``canary``: tokens planted in a system prompt; one in an output means the prompt leaked.

Configured tokens join the policy's skeleton scan; tokens sent per request in the context
(``canary_tokens``) are searched in each window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guardrails.engine.kinds.base import (
    PLACEHOLDER_SCHEMA,
    Finding,
    PatternUse,
    RuleKind,
    View,
    configured_placeholder,
    object_schema,
    register_kind,
)
from guardrails.engine.normalize import NormalizedText, skeleton
from guardrails.engine.phrases import phrase_key, phrase_pattern
from guardrails.engine.re2_patterns import compile_pattern

MIN_CANARY_CHARS = 6


@dataclass(frozen=True, slots=True)
class CanaryConfig:
    alternation: str | None
    labels: Mapping[str, str]  # token key → "canary token 2" (the token itself is never shown)
    placeholder: str


@register_kind
class CanaryKind(RuleKind[CanaryConfig]):
    name = "canary"
    label = "Canary tokens"
    scans_windows = True  # for the tokens sent per request

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "Canary tokens",
            {
                "tokens": {
                    "type": "array",
                    "title": "Tokens",
                    "help_text": "Planted in the system prompt; seeing one in an output means the "
                    "prompt leaked. Tokens sent in the request context (canary_tokens) are "
                    "checked too.",
                    "items": {"type": "string", "minLength": 8, "maxLength": 200},
                    "maxItems": 100,
                },
                "placeholder": dict(PLACEHOLDER_SCHEMA),
            },
        )

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        return [
            f"tokens.{n}: a canary needs at least {MIN_CANARY_CHARS} letters or digits"
            for n, token in enumerate(config.get("tokens", ()))
            if sum(c.isalnum() for c in skeleton(token)) < MIN_CANARY_CHARS
        ]

    def compile(self, config: Mapping[str, Any]) -> CanaryConfig:
        labels: dict[str, str] = {}
        alternatives: list[str] = []
        for n, token in enumerate(config.get("tokens", ())):
            pattern = phrase_pattern(token, word=False)
            if pattern is None:
                continue
            labels.setdefault(phrase_key(token), f"canary token {n + 1}")
            alternatives.append(pattern)
        return CanaryConfig(
            alternation="(?:" + "|".join(alternatives) + ")" if alternatives else None,
            labels=labels,
            placeholder=configured_placeholder(config, "[REDACTED]"),
        )

    def patterns(self, compiled: CanaryConfig) -> Iterable[PatternUse]:
        if compiled.alternation is not None:
            yield PatternUse(View.SKELETON, compiled.alternation, "CANARY", compiled.placeholder, "canary")

    def describe_match(self, compiled: CanaryConfig, use: PatternUse, matched: str) -> str:
        return compiled.labels.get(phrase_key(matched), "canary token")

    def scan_window(
        self, compiled: CanaryConfig, text: NormalizedText, context: Mapping[str, Any]
    ) -> Iterable[Finding]:
        tokens = context.get("canary_tokens")
        if not tokens or isinstance(tokens, str | bytes) or not isinstance(tokens, Iterable):
            return []
        found = []
        for token in tokens:
            pattern = phrase_pattern(str(token), word=False) if token else None
            if pattern is None:
                continue
            regex: Any = compile_pattern(pattern)
            for match in regex.finditer(text.skeleton):
                start, end = match.span()
                found.append(
                    Finding(start, end, "CANARY", "canary token from the request context", compiled.placeholder)
                )
        return found
