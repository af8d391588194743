"""``regex``: RE2 patterns, matched against the original text or its folded view."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guardrails.engine.kinds.base import (
    PLACEHOLDER_SCHEMA,
    PatternUse,
    RuleKind,
    View,
    configured_placeholder,
    object_schema,
    register_kind,
)
from guardrails.engine.re2_patterns import MAX_PATTERN_CHARS, check_pattern


@dataclass(frozen=True, slots=True)
class RegexConfig:
    patterns: tuple[str, ...]
    case_sensitive: bool
    normalized: bool
    entity: str
    placeholder: str


@register_kind
class RegexKind(RuleKind[RegexConfig]):
    name = "regex"
    label = "Regex (RE2)"

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "Regular expressions",
            {
                "patterns": {
                    "type": "array",
                    "title": "Patterns",
                    "help_text": "RE2 syntax (linear time: no look-around, no back-references). "
                    "Matched against the original text.",
                    "items": {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN_CHARS},
                    "minItems": 1,
                    "maxItems": 500,
                },
                "case_sensitive": {"type": "boolean", "title": "Case sensitive", "default": False},
                "normalized": {
                    "type": "boolean",
                    "title": "Match the normalised text",
                    "help_text": "Match against the folded text (lower case, accents, invisible "
                    "characters and look-alike letters removed, spaced letters joined) instead "
                    "of the original; redaction spans still point into the original.",
                    "default": False,
                },
                "entity": {
                    "type": "string",
                    "title": "Entity",
                    "help_text": "Label for hits, e.g. EMPLOYEE_ID; also the redaction placeholder.",
                    "maxLength": 50,
                },
                "placeholder": dict(PLACEHOLDER_SCHEMA),
            },
            ["patterns"],
        )

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        errors = []
        for n, pattern in enumerate(config["patterns"], start=1):
            problem = check_pattern(pattern)
            if problem:
                errors.append(f"patterns.{n - 1}: pattern {n} {problem}")
        return errors

    def compile(self, config: Mapping[str, Any]) -> RegexConfig:
        entity = str(config.get("entity") or "")
        return RegexConfig(
            patterns=tuple(config["patterns"]),
            case_sensitive=bool(config.get("case_sensitive", False)),
            normalized=bool(config.get("normalized", False)),
            entity=entity or "PATTERN",
            placeholder=configured_placeholder(config, f"[{entity}]" if entity else "[REDACTED]"),
        )

    def patterns(self, compiled: RegexConfig) -> Iterable[PatternUse]:
        flags = "" if compiled.case_sensitive else "(?i)"
        view = View.FOLDED if compiled.normalized else View.RAW
        for n, pattern in enumerate(compiled.patterns, start=1):
            label = f"pattern {n}"
            yield PatternUse(view, flags + pattern, compiled.entity, compiled.placeholder, label, detail=label)
