"""``prompt_leak``: an output that repeats a run of consecutive words of the system prompt."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from guardrails.engine.kinds.base import (
    PLACEHOLDER_SCHEMA,
    Finding,
    RuleKind,
    configured_placeholder,
    object_schema,
    register_kind,
)
from guardrails.engine.leak import LeakIndex
from guardrails.engine.normalize import NormalizedText, skeleton

_WORD_RE = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class PromptLeakConfig:
    index: LeakIndex | None  # None: use the system_prompt sent in the request context
    min_words: int
    min_ratio: float | None
    placeholder: str


@lru_cache(maxsize=64)
def _context_index(prompt: str, n: int) -> LeakIndex:
    return LeakIndex.build(prompt, n)


@register_kind
class PromptLeakKind(RuleKind[PromptLeakConfig]):
    name = "prompt_leak"
    label = "System-prompt leak"
    scans_windows = True

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "System prompt leak",
            {
                "system_prompt": {
                    "type": "string",
                    "title": "System prompt",
                    "help_text": "Leave empty to use the system_prompt sent in the request context.",
                    "widget": "textarea",
                    "maxLength": 100_000,
                },
                "min_overlap_words": {
                    "type": "integer",
                    "title": "Minimum overlap (words)",
                    "help_text": "This many consecutive words of the prompt in an output is a leak.",
                    "minimum": 3,
                    "maximum": 200,
                    "default": 8,
                },
                "min_overlap_ratio": {
                    "type": "number",
                    "title": "Minimum overlap ratio",
                    "help_text": "Optional: also require this share of the prompt to appear.",
                    "minimum": 0,
                    "maximum": 1,
                },
                "placeholder": dict(PLACEHOLDER_SCHEMA),
            },
        )

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        prompt = config.get("system_prompt") or ""
        if prompt and len(_WORD_RE.findall(skeleton(prompt))) < 3:
            return ["system_prompt: needs at least 3 words to detect a leak"]
        return []

    def compile(self, config: Mapping[str, Any]) -> PromptLeakConfig:
        prompt = config.get("system_prompt") or ""
        n = int(config.get("min_overlap_words", 8))
        ratio = config.get("min_overlap_ratio")
        return PromptLeakConfig(
            index=LeakIndex.build(prompt, n) if prompt else None,
            min_words=n,
            min_ratio=float(ratio) if ratio is not None else None,
            placeholder=configured_placeholder(config, "[REDACTED]"),
        )

    def scan_window(
        self, compiled: PromptLeakConfig, text: NormalizedText, context: Mapping[str, Any]
    ) -> Iterable[Finding]:
        index = compiled.index
        if index is None:
            prompt = context.get("system_prompt")
            if not isinstance(prompt, str) or not prompt:
                return []
            index = _context_index(prompt, compiled.min_words)
        match = index.find(text)
        if match is None or (compiled.min_ratio is not None and match.ratio < compiled.min_ratio):
            return []
        detail = f"{match.words} consecutive words of the system prompt ({match.ratio:.0%} of it)"
        return [Finding(start, end, "SYSTEM_PROMPT", detail, compiled.placeholder) for start, end in match.spans]
