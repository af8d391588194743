"""``local_classifier``: tier 2, Arbiter's own prompt-injection classifier, in process.

The rule names a classifier version by label and SHA-256 (the shipped one, or one trained in
the admin and promoted to the policy); the artifact is verified against that digest and
parsed once per process. Scoring a 4 KB text takes a few milliseconds of numpy on one core,
with no network and no download, so no backend is injected: the model is the backend.

Each hit's detail names the version and digest that scored the text, so the decision
envelope records which classifier made the decision.
"""

from __future__ import annotations

import re
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

if TYPE_CHECKING:
    from guardrails.classifier.model import LinearModel
    from guardrails.engine.backends import Backends

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _load(digest: str) -> LinearModel:
    # Imported here: the classifier's features use the engine's normaliser, so importing it
    # while this package initialises would be circular.
    from guardrails.classifier import store
    from guardrails.classifier.artifact import ArtifactError

    try:
        return store.load_model(digest)
    except store.ModelNotFound as exc:
        raise RuleError("model_missing", str(exc)) from exc
    except ArtifactError as exc:
        raise RuleError("artifact_rejected", f"{exc.code}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class LocalClassifierConfig:
    model: str
    sha256: str
    threshold: float
    label: str


@register_kind
class LocalClassifierKind(RuleKind[LocalClassifierConfig]):
    name = "local_classifier"
    label = "Prompt-injection classifier (local)"
    tier = Tier.CLASSIFIER
    has_span = False

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "Prompt-injection classifier",
            {
                "model": {
                    "type": "string",
                    "title": "Classifier version",
                    "help_text": "Set by promoting a version from the classifier versions page.",
                    "maxLength": 120,
                },
                "sha256": {
                    "type": "string",
                    "title": "Artifact SHA-256",
                    "pattern": "^[0-9a-f]{64}$",
                },
                "threshold": threshold_schema(0.8, "Score at or above which the rule fires."),
                "label": {"type": "string", "title": "Label", "default": "INJECTION", "maxLength": 50},
            },
            ["model", "sha256", "threshold"],
        )

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        digest = str(config.get("sha256", ""))
        if not _SHA256.match(digest):
            return []  # the schema already says so
        try:
            model = _load(digest)
        except RuleError as exc:
            if exc.code == "model_missing":
                return ["sha256: no classifier version with this digest is available"]
            return [f"sha256: the artifact is rejected ({exc.message})"]
        if config.get("model") and config["model"] != model.label:
            return [f"model: the artifact with this digest is {model.label!r}, not {config['model']!r}"]
        return []

    def compile(self, config: Mapping[str, Any]) -> LocalClassifierConfig:
        return LocalClassifierConfig(
            model=str(config.get("model", "")),
            sha256=str(config["sha256"]),
            threshold=float(config["threshold"]),
            label=str(config.get("label") or "INJECTION"),
        )

    def assess(
        self,
        compiled: LocalClassifierConfig,
        rule: RuleSpec,
        windows: Sequence[ModelWindow],
        backends: Backends | None,
    ) -> Iterator[Assessment]:
        """The highest-scoring window, if it reaches the threshold (stops at the first that does)."""
        model = _load(compiled.sha256)
        best: tuple[float, ModelWindow] | None = None
        for window in windows:
            score = model.score(window.text)
            if best is None or score > best[0]:
                best = (score, window)
            if score >= compiled.threshold:
                break
        if best is None or best[0] < compiled.threshold:
            return
        score, window = best
        structure = model.explain(window.text).structure
        because = f"; structure: {', '.join(structure)}" if structure else ""
        yield Assessment(
            start=window.start,
            end=window.end,
            entity=compiled.label,
            score=score,
            detail=(
                f"{model.label} ({model.digest[:12]}) score {score:.3f} >= threshold {compiled.threshold:g}{because}"
            ),
        )
