"""``length``: a limit on characters and/or lines; the hit covers what is over the limit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guardrails.engine.kinds.base import (
    PLACEHOLDER_SCHEMA,
    Finding,
    RuleKind,
    configured_placeholder,
    object_schema,
    register_kind,
)


@dataclass(frozen=True, slots=True)
class LengthConfig:
    max_chars: int | None
    max_lines: int | None
    placeholder: str


@register_kind
class LengthKind(RuleKind[LengthConfig]):
    name = "length"
    label = "Length limits"
    scans_text = True

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "Length limit",
            {
                "max_chars": {"type": "integer", "title": "Maximum characters", "minimum": 1},
                "max_lines": {"type": "integer", "title": "Maximum lines", "minimum": 1},
                "placeholder": dict(PLACEHOLDER_SCHEMA),
            },
        )

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        if config.get("max_chars") is None and config.get("max_lines") is None:
            return ["config: set max_chars, max_lines or both"]
        return []

    def compile(self, config: Mapping[str, Any]) -> LengthConfig:
        return LengthConfig(
            max_chars=config.get("max_chars"),
            max_lines=config.get("max_lines"),
            placeholder=configured_placeholder(config, "[TRUNCATED]"),
        )

    def scan_text(self, compiled: LengthConfig, text: str, context: Mapping[str, Any]) -> Iterable[Finding]:
        max_chars, max_lines = compiled.max_chars, compiled.max_lines
        starts: list[tuple[int, str]] = []
        if max_chars is not None and len(text) > max_chars:
            starts.append((max_chars, f"{len(text)} characters > {max_chars}"))
        if max_lines is not None:
            lines = text.count("\n") + 1 if text else 0
            if lines > max_lines:
                cut = -1
                for _ in range(max_lines):
                    cut = text.index("\n", cut + 1)
                starts.append((cut + 1, f"{lines} lines > {max_lines}"))
        if not starts:
            return []
        start, detail = min(starts)
        return [Finding(start, len(text), "LENGTH", detail, compiled.placeholder)]
