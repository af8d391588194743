"""``pii``: personal data (e-mail, phone, card, IBAN, US SSN, IP address), each an RE2 candidate
pattern on the original text confirmed by a validator (Luhn, mod-97, the SSA rules, …)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guardrails.engine import detectors
from guardrails.engine.kinds.base import (
    PLACEHOLDER_SCHEMA,
    PatternUse,
    RuleKind,
    View,
    object_schema,
    register_kind,
    switches_schema,
)


@dataclass(frozen=True, slots=True)
class PiiConfig:
    detectors: tuple[detectors.Detector, ...]
    placeholder: str | None  # None: typed, "[EMAIL]", "[CREDIT_CARD]", …


def enabled_keys(config: Mapping[str, Any], section: str, keys: Iterable[str]) -> set[str]:
    """The detector keys switched on in ``config[section]`` (all of them when it is absent)."""
    switches = config.get(section)
    if switches is None:
        return set(keys)
    return {k for k in keys if switches.get(k, False)}


@register_kind
class PiiKind(RuleKind[PiiConfig]):
    name = "pii"
    label = "PII"

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "Personal data",
            {
                "entities": switches_schema(
                    "Entities",
                    detectors.PII_KEYS,
                    "Cards are checked with Luhn, IBANs with mod-97, SSNs with the SSA rules.",
                ),
                "placeholder": dict(PLACEHOLDER_SCHEMA),
            },
        )

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        if "entities" in config and not any(config["entities"].values()):
            return ["entities: enable at least one entity"]
        return []

    def compile(self, config: Mapping[str, Any]) -> PiiConfig:
        keys = enabled_keys(config, "entities", detectors.PII_KEYS)
        placeholder = config.get("placeholder")
        return PiiConfig(
            # Read through the module so a test can swap the detector table.
            detectors=tuple(d for d in detectors.PII_DETECTORS if d.key in keys),
            placeholder=placeholder if isinstance(placeholder, str) and placeholder else None,
        )

    def patterns(self, compiled: PiiConfig) -> Iterable[PatternUse]:
        for d in compiled.detectors:
            placeholder = compiled.placeholder or f"[{d.entity}]"
            for pattern in d.patterns:
                yield PatternUse(View.RAW, pattern, d.entity, placeholder, d.key, d.entity, d.validator, d.priority)
