"""``phrases``: word sequences matched on the normalised (skeleton) text, as one alternation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
from guardrails.engine.phrases import is_template, phrase_key, phrase_pattern
from guardrails.engine.re2_patterns import SET_MAX_MEM, compile_pattern, re2_error_message

MAX_PHRASE_CHARS = 2000
MAX_PHRASES = 10_000
MAX_PHRASES_PROGRAM_SIZE = 100_000


@dataclass(frozen=True, slots=True)
class PhrasesConfig:
    alternation: str | None  # every phrase's pattern in one RE2 alternation
    labels: Mapping[str, str]  # phrase key (literal phrases) → "phrase 3: 'launch code'"
    templates: tuple[tuple[str, Any], ...]  # (label, compiled RE2) for phrases with {a|b} choices
    placeholder: str


def _shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@register_kind
class PhrasesKind(RuleKind[PhrasesConfig]):
    name = "phrases"
    label = "Phrases on normalised text"

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "Phrases",
            {
                "phrases": {
                    "type": "array",
                    "title": "Phrases",
                    "help_text": "Matched on the normalised text: case, accents, look-alike letters, "
                    "leetspeak (1gn0re), spaced letters (i g n o r e) and punctuation between "
                    "words do not matter.",
                    "items": {"type": "string", "minLength": 1, "maxLength": MAX_PHRASE_CHARS},
                    "minItems": 1,
                    "maxItems": MAX_PHRASES,
                },
                "match": {
                    "type": "string",
                    "title": "Match",
                    "help_text": "word: whole words only; substring: anywhere.",
                    "enum": ["word", "substring"],
                    "default": "word",
                },
                "placeholder": dict(PLACEHOLDER_SCHEMA),
            },
            ["phrases"],
        )

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        word = config.get("match", "word") != "substring"
        errors: list[str] = []
        patterns: list[str] = []
        for n, phrase in enumerate(config["phrases"]):
            pattern = phrase_pattern(phrase, word=word)
            if pattern is None:
                errors.append(f"phrases.{n}: {phrase!r} has no words that must match")
            else:
                patterns.append(pattern)
        if patterns and not errors:
            problem = _alternation_problem(patterns)
            if problem:
                errors.append(f"phrases: {problem}")
        return errors

    def compile(self, config: Mapping[str, Any]) -> PhrasesConfig:
        word = config.get("match", "word") != "substring"
        labels: dict[str, str] = {}
        templates: list[tuple[str, Any]] = []
        alternatives: list[str] = []
        for n, phrase in enumerate(config["phrases"], start=1):
            pattern = phrase_pattern(phrase, word=word)
            if pattern is None:
                continue
            if is_template(phrase):
                templates.append((f"phrase {n}: {_shorten(phrase)}", compile_pattern(pattern)))
            else:
                labels.setdefault(phrase_key(phrase), f"phrase {n}: {phrase!r}")
            alternatives.append(pattern)
        return PhrasesConfig(
            alternation="(?:" + "|".join(alternatives) + ")" if alternatives else None,
            labels=labels,
            templates=tuple(templates),
            placeholder=configured_placeholder(config, "[REDACTED]"),
        )

    def patterns(self, compiled: PhrasesConfig) -> Iterable[PatternUse]:
        if compiled.alternation is not None:
            yield PatternUse(View.SKELETON, compiled.alternation, "PHRASE", compiled.placeholder, "phrase")

    def describe_match(self, compiled: PhrasesConfig, use: PatternUse, matched: str) -> str:
        """Which phrase matched: literal phrases by their key, templates by their own regex."""
        label = compiled.labels.get(phrase_key(matched))
        if label is not None:
            return label
        for template_label, regex in compiled.templates:
            if regex.fullmatch(matched) is not None:
                return str(template_label)
        return "phrase"


def _alternation_problem(patterns: Sequence[str]) -> str | None:
    """A rule's phrases run as one alternation: refuse a list too large for the scan."""
    try:
        compiled: Any = compile_pattern("(?:" + "|".join(patterns) + ")", max_mem=SET_MAX_MEM)
    except Exception as exc:
        return f"together they are too large for one scan ({re2_error_message(exc)}); split the rule"
    if compiled.programsize > MAX_PHRASES_PROGRAM_SIZE:
        return (
            f"together they are too complex (RE2 program size {compiled.programsize} > "
            f"{MAX_PHRASES_PROGRAM_SIZE}); split the rule or use fewer alternatives"
        )
    return None
