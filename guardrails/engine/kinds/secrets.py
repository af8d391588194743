"""``secrets``: API keys and tokens by their known shapes, plus long high-entropy tokens."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guardrails.engine import detectors
from guardrails.engine.kinds.base import PatternUse, RuleKind, View, object_schema, register_kind, switches_schema
from guardrails.engine.kinds.pii import enabled_keys


@dataclass(frozen=True, slots=True)
class SecretsConfig:
    detectors: tuple[detectors.Detector, ...]
    high_entropy: bool
    entropy_threshold: float
    min_length: int
    typed_placeholder: bool  # "[AWS_ACCESS_KEY]" rather than "[SECRET]"

    def placeholder(self, entity: str) -> str:
        return f"[{entity}]" if self.typed_placeholder else "[SECRET]"


@register_kind
class SecretsKind(RuleKind[SecretsConfig]):
    name = "secrets"
    label = "Secrets"

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "Secrets",
            {
                "detectors": switches_schema(
                    "Detectors", detectors.SECRET_KEYS, "high_entropy flags long random-looking tokens."
                ),
                "entropy_threshold": {
                    "type": "number",
                    "title": "Entropy threshold",
                    "help_text": "Shannon bits per character for high_entropy (hex tops out at 4).",
                    "minimum": 1,
                    "maximum": 8,
                    "default": 4.0,
                },
                "min_length": {
                    "type": "integer",
                    "title": "Minimum token length",
                    "minimum": 8,
                    "maximum": 512,
                    "default": 24,
                },
                "placeholder": {
                    "type": "string",
                    "title": "Placeholder",
                    "help_text": "typed: [AWS_ACCESS_KEY], [GITHUB_TOKEN], …; generic: [SECRET].",
                    "enum": ["typed", "generic"],
                    "default": "typed",
                },
            },
        )

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        if "detectors" in config and not any(config["detectors"].values()):
            return ["detectors: enable at least one detector"]
        return []

    def compile(self, config: Mapping[str, Any]) -> SecretsConfig:
        keys = enabled_keys(config, "detectors", detectors.SECRET_KEYS)
        return SecretsConfig(
            detectors=tuple(d for d in detectors.SECRET_DETECTORS if d.key in keys),
            high_entropy=detectors.HIGH_ENTROPY_KEY in keys,
            entropy_threshold=float(config.get("entropy_threshold", 4.0)),
            min_length=int(config.get("min_length", 24)),
            typed_placeholder=config.get("placeholder", "typed") != "generic",
        )

    def patterns(self, compiled: SecretsConfig) -> Iterable[PatternUse]:
        for d in compiled.detectors:
            detail = f"{d.key} ({d.entity})"
            for pattern in d.patterns:
                placeholder = compiled.placeholder(d.entity)
                yield PatternUse(View.RAW, pattern, d.entity, placeholder, d.key, detail, d.validator, d.priority)
        if compiled.high_entropy:
            threshold = compiled.entropy_threshold
            yield PatternUse(
                View.RAW,
                detectors.entropy_pattern(compiled.min_length),
                detectors.HIGH_ENTROPY_ENTITY,
                compiled.placeholder(detectors.HIGH_ENTROPY_ENTITY),
                detectors.HIGH_ENTROPY_KEY,
                f"{detectors.HIGH_ENTROPY_KEY} (entropy >= {threshold:g} bits/char)",
                detectors.make_entropy_validator(threshold),
                detectors.HIGH_ENTROPY_PRIORITY,
            )
