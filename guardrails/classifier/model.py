"""A trained linear classifier over `guardrails.classifier.features`: scoring is a sparse dot
product per window and a logistic function, in numpy, with no scikit-learn on the hot path."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from guardrails.classifier.features import FeatureConfig, IndexArray, ValueArray, prepare, vectorize_window, windows
from guardrails.classifier.structure import NAMES as STRUCTURE_NAMES


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True, slots=True)
class CalibrationPoint:
    """At ``threshold``: the share of held-out benign texts flagged and of attacks caught."""

    threshold: float
    false_positive_rate: float
    recall: float
    precision: float

    def to_dict(self) -> dict[str, float]:
        return {
            "threshold": self.threshold,
            "false_positive_rate": self.false_positive_rate,
            "recall": self.recall,
            "precision": self.precision,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    score: float
    window: int
    structure: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinearModel:
    """P(injection) = sigmoid(w · x + b) for the highest-scoring window of the text.

    ``name`` and ``version`` identify the model ("prompt-injection", 3); ``digest`` is the
    SHA-256 of the artifact it was loaded from, which is what a decision records.
    """

    name: str
    version: int
    config: FeatureConfig
    weights: npt.NDArray[np.float32]
    bias: float
    threshold: float
    digest: str = ""
    calibration: tuple[CalibrationPoint, ...] = ()
    manifest: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.weights.shape != (self.config.size,):
            raise ValueError(f"weights have shape {self.weights.shape}, the features need ({self.config.size},)")

    @property
    def label(self) -> str:
        return f"{self.name}-{self.version}"

    def _window_score(self, vector: tuple[IndexArray, ValueArray]) -> float:
        idx, values = vector
        return _sigmoid(float(np.dot(self.weights[idx], values)) + self.bias)

    def window_scores(self, text: str) -> list[float]:
        prepared = prepare(text, self.config)
        return [self._window_score(vectorize_window(w, self.config)) for w in windows(prepared, self.config)]

    def score(self, text: str) -> float:
        """P(injection) for the text: the highest of its windows' scores."""
        return max(self.window_scores(text))

    def explain(self, text: str, *, top: int = 3) -> Explanation:
        """The best window's score and the structure families that pushed it up most."""
        prepared = prepare(text, self.config)
        best: tuple[float, int, tuple[IndexArray, ValueArray]] | None = None
        for i, window in enumerate(windows(prepared, self.config)):
            vector = vectorize_window(window, self.config)
            score = self._window_score(vector)
            if best is None or score > best[0]:
                best = (score, i, vector)
        assert best is not None
        score, index, (idx, values) = best
        base = self.config.hashed_size
        contributions = [
            (float(self.weights[i] * v), STRUCTURE_NAMES[int(i) - base])
            for i, v in zip(idx, values, strict=True)
            if i >= base
        ]
        named = tuple(name for weight, name in sorted(contributions, reverse=True)[:top] if weight > 0)
        return Explanation(score=score, window=index, structure=named)

    def threshold_for_fpr(self, target: float) -> float:
        """The lowest calibrated threshold whose held-out false-positive rate is at most ``target``
        (the model's default threshold when it has no calibration)."""
        eligible = [p.threshold for p in self.calibration if p.false_positive_rate <= target]
        return min(eligible) if eligible else self.threshold


def calibration_points(rows: Sequence[Mapping[str, float]]) -> tuple[CalibrationPoint, ...]:
    return tuple(
        CalibrationPoint(
            threshold=float(r["threshold"]),
            false_positive_rate=float(r["false_positive_rate"]),
            recall=float(r["recall"]),
            precision=float(r["precision"]),
        )
        for r in rows
    )
