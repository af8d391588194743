"""``classifier``: tier 2, a text classifier's score against a threshold (the backend is injected)."""

from __future__ import annotations

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
from guardrails.engine.types import RuleSpec, Tier
from guardrails.engine.verdicts import InvalidVerdict, valid_score

if TYPE_CHECKING:
    from guardrails.engine.backends import Backends


@dataclass(frozen=True, slots=True)
class ClassifierConfig:
    threshold: float
    backend: str
    label: str


@register_kind
class ClassifierKind(RuleKind[ClassifierConfig]):
    name = "classifier"
    label = "Classifier"
    tier = Tier.CLASSIFIER
    has_span = False

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "Classifier",
            {
                "threshold": threshold_schema(0.8, "Score at or above which the rule fires."),
                "backend": {"type": "string", "title": "Backend", "default": "remote"},
                "endpoint": {"type": "string", "title": "Endpoint", "maxLength": 2000},
                "label": {"type": "string", "title": "Label", "default": "INJECTION"},
            },
        )

    def compile(self, config: Mapping[str, Any]) -> ClassifierConfig:
        return ClassifierConfig(
            threshold=float(config.get("threshold", 0.8)),
            backend=str(config.get("backend", "remote")),
            label=str(config.get("label") or "INJECTION"),
        )

    def assess(
        self,
        compiled: ClassifierConfig,
        rule: RuleSpec,
        windows: Sequence[ModelWindow],
        backends: Backends | None,
    ) -> Iterator[Assessment]:
        """The best-scoring window, if it reaches the threshold (stops at the first that does)."""
        backend = backends.classifiers.get(compiled.backend) if backends is not None else None
        if backend is None:
            raise RuleError("backend_missing", f"no classifier backend {compiled.backend!r} was provided")
        best: tuple[float, ModelWindow] | None = None
        for window in windows:
            try:
                score = valid_score(backend.score(window.text, rule))
            except InvalidVerdict as exc:
                raise RuleError("invalid_score", str(exc)) from exc
            if best is None or score > best[0]:
                best = (score, window)
            if score >= compiled.threshold:
                break
        if best is None or best[0] < compiled.threshold:
            return
        score, window = best
        yield Assessment(
            start=window.start,
            end=window.end,
            entity=compiled.label,
            score=score,
            detail=f"score {score:.3f} >= threshold {compiled.threshold:g}",
        )
