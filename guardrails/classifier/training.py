"""Train a classifier version from labelled examples, and measure it honestly.

The measurement is **grouped by source**: examples are split into folds so that every source
(a template family, an imported file, a curator's batch) sits entirely in one fold, and
each fold is scored by a model that never saw any example of that source. The scores are
therefore those of texts *unlike* the training data, not of near-duplicates of it, which is
the failure that makes public classifiers look excellent on their own test split and flag
every ordinary email in production. The shipped weights are then fitted on all examples.

From the held-out scores come: precision, recall, F1 and false-positive rate overall, per
category and per source; the precision/recall curve; and the calibration table that turns
a target false-positive rate into a threshold.

scikit-learn is used for the optimiser only (imported inside `fit_weights`): features and
inference are ours, so the hot path never imports it.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from guardrails.classifier.artifact import pack, sha256
from guardrails.classifier.dataset import LabeledText
from guardrails.classifier.features import FeatureConfig, IndexArray, ValueArray, prepare, vectorize_window, windows

Vector = tuple[IndexArray, ValueArray]

THRESHOLD_GRID = (*(round(0.02 * i, 2) for i in range(1, 50)), 0.99, 0.995, 0.999)
FPR_TARGETS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1)
_STRUCTURE_MIN = 0.5


class TrainingError(ValueError):
    """Examples that cannot train a model (e.g. only one label)."""


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    regularization_c: float = 4.0
    folds: int = 4
    seed: int = 13
    target_fpr: float = 0.01
    max_windows_per_text: int = 12
    max_iter: int = 2000
    class_weight: dict[int, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "regularization_c": self.regularization_c,
            "folds": self.folds,
            "seed": self.seed,
            "target_fpr": self.target_fpr,
            "max_windows_per_text": self.max_windows_per_text,
        }


@dataclass(frozen=True, slots=True)
class Metrics:
    attacks: int
    benign: int
    true_positives: int
    false_positives: int
    precision: float | None
    recall: float | None
    f1: float | None
    false_positive_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "attacks": self.attacks,
            "benign": self.benign,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
            "false_positive_rate": _round(self.false_positive_rate),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def metrics_at(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> Metrics:
    attacks = sum(labels)
    benign = len(labels) - attacks
    tp = sum(1 for s, y in zip(scores, labels, strict=True) if y and s >= threshold)
    fp = sum(1 for s, y in zip(scores, labels, strict=True) if not y and s >= threshold)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / attacks if attacks else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if attacks else None)
    fpr = fp / benign if benign else None
    return Metrics(attacks, benign, tp, fp, precision, recall, f1, fpr)


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """What the admin shows on a version's page, all from held-out (out-of-fold) scores."""

    split: str
    folds: int
    examples: int
    attacks: int
    benign: int
    windows: int
    threshold: float
    target_fpr: float
    overall: Metrics
    by_category: Mapping[str, Metrics]
    by_source: Mapping[str, Metrics]
    calibration: list[dict[str, float]]
    pr_curve: list[dict[str, float]]
    data_digest: str
    config: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "folds": self.folds,
            "examples": self.examples,
            "attacks": self.attacks,
            "benign": self.benign,
            "windows": self.windows,
            "threshold": self.threshold,
            "target_fpr": self.target_fpr,
            "overall": self.overall.to_dict(),
            "by_category": {k: v.to_dict() for k, v in sorted(self.by_category.items())},
            "by_source": {k: v.to_dict() for k, v in sorted(self.by_source.items())},
            "calibration": self.calibration,
            "pr_curve": self.pr_curve,
            "data_digest": self.data_digest,
            "config": dict(self.config),
        }


@dataclass(frozen=True, slots=True)
class TrainedModel:
    weights: npt.NDArray[np.float32]
    bias: float
    report: TrainingReport
    out_of_fold_scores: list[float]

    def artifact(self, *, name: str, version: int, config: FeatureConfig) -> tuple[bytes, str]:
        """The artifact bytes and their SHA-256."""
        blob = pack(
            name=name,
            version=version,
            config=config,
            weights=self.weights,
            bias=self.bias,
            threshold=self.report.threshold,
            calibration=self.report.calibration,
            extra={"training": {k: v for k, v in self.report.to_dict().items() if k not in ("by_source", "pr_curve")}},
        )
        return blob, sha256(blob)


# --- windows for training -----------------------------------------------------------------------


def training_vectors(example: LabeledText, config: FeatureConfig, max_windows: int) -> list[Vector]:
    """The windows an example contributes. A benign text contributes its windows (evenly
    sampled past ``max_windows``): every window of an ordinary document must score low,
    because a long text is scored by its highest window. An attack longer than one window
    contributes the windows that carry instruction structure (the hidden line of an
    otherwise ordinary document), or all of them when none does."""
    vectors = [vectorize_window(w, config) for w in windows(prepare(example.text, config), config)]
    if len(vectors) > 1 and example.is_attack:
        base = config.hashed_size
        strength = [float(values[idx >= base].sum()) for idx, values in vectors]
        top = max(strength)
        if top >= _STRUCTURE_MIN:
            vectors = [v for v, s in zip(vectors, strength, strict=True) if s >= top * 0.5]
    if len(vectors) > max_windows:
        step = len(vectors) / max_windows
        vectors = [vectors[int(i * step)] for i in range(max_windows)]
    return vectors


def _matrix(vectors: Sequence[Vector], size: int) -> Any:
    from scipy.sparse import csr_matrix

    indptr = np.zeros(len(vectors) + 1, dtype=np.int64)
    for i, (idx, _) in enumerate(vectors):
        indptr[i + 1] = indptr[i] + len(idx)
    indices = np.concatenate([idx for idx, _ in vectors]) if vectors else np.empty(0, dtype=np.int64)
    data = np.concatenate([v for _, v in vectors]) if vectors else np.empty(0, dtype=np.float32)
    return csr_matrix((data, indices, indptr), shape=(len(vectors), size), dtype=np.float64)


def fit_weights(
    vectors: Sequence[Vector], labels: Sequence[bool], config: TrainingConfig
) -> tuple[npt.NDArray[np.float32], float]:
    """Logistic regression (liblinear, L2, classes balanced) on sparse window vectors."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels, dtype=np.int8)
    if y.min() == y.max():
        raise TrainingError("training needs both attack and benign examples")
    model = LogisticRegression(
        C=config.regularization_c,
        solver="liblinear",
        dual=True,  # fewer windows than hashed features: the dual problem is the small one
        class_weight=config.class_weight or "balanced",
        max_iter=config.max_iter,
        random_state=config.seed,
    )
    model.fit(_matrix(vectors, config.features.size), y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def _score(vectors: Sequence[Vector], weights: npt.NDArray[np.float32], bias: float) -> float:
    z = max(float(np.dot(weights[idx], values)) for idx, values in vectors) + bias
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


# --- the split ----------------------------------------------------------------------------------


def assign_folds(examples: Sequence[LabeledText], folds: int, seed: int) -> tuple[list[int], str]:
    """A fold per example, whole sources at a time, attack and benign sources spread over the
    folds separately so that each fold has both. With fewer sources than folds for a label,
    that label's examples are spread by a hash of their text instead (reported as the split)."""
    fold_of = [0] * len(examples)
    split = "by_source"
    for attack in (True, False):
        members = [i for i, e in enumerate(examples) if e.is_attack is attack]
        sources = sorted({examples[i].source for i in members})
        if len(sources) >= folds:
            rng = random.Random(seed + attack)  # noqa: S311 - a reproducible split, not a secret
            rng.shuffle(sources)
            # Largest sources first, each to the fold with fewest examples so far: folds of
            # similar size even when one family is much larger than the others.
            sizes: dict[str, int] = defaultdict(int)
            for i in members:
                sizes[examples[i].source] += 1
            load = [0] * folds
            source_fold: dict[str, int] = {}
            for source in sorted(sources, key=lambda s: -sizes[s]):
                target = min(range(folds), key=lambda f: load[f])
                source_fold[source] = target
                load[target] += sizes[source]
            for i in members:
                fold_of[i] = source_fold[examples[i].source]
        else:
            split = "by_text (too few sources)"
            for i in members:
                digest = hashlib.sha256(f"{seed}:{examples[i].text}".encode()).digest()
                fold_of[i] = digest[0] % folds
    return fold_of, split


# --- the report ---------------------------------------------------------------------------------


def calibration_table(scores: Sequence[float], labels: Sequence[bool]) -> list[dict[str, float]]:
    rows = []
    for threshold in THRESHOLD_GRID:
        m = metrics_at(scores, labels, threshold)
        rows.append(
            {
                "threshold": threshold,
                "false_positive_rate": round(m.false_positive_rate or 0.0, 5),
                "recall": round(m.recall or 0.0, 5),
                "precision": round(m.precision if m.precision is not None else 1.0, 5),
            }
        )
    return rows


def threshold_for(calibration: Sequence[Mapping[str, float]], target_fpr: float) -> float:
    """The lowest threshold whose held-out FPR is within the target (0.99 when none is)."""
    eligible = [row["threshold"] for row in calibration if row["false_positive_rate"] <= target_fpr]
    return min(eligible) if eligible else 0.99


def _grouped(
    examples: Sequence[LabeledText], scores: Sequence[float], key: Callable[[LabeledText], str], threshold: float
) -> dict[str, Metrics]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups[key(e) or "(none)"].append(i)
    return {
        name: metrics_at([scores[i] for i in members], [examples[i].is_attack for i in members], threshold)
        for name, members in groups.items()
    }


def data_digest(examples: Iterable[LabeledText]) -> str:
    h = hashlib.sha256()
    for e in sorted(examples, key=lambda e: (e.source, e.text)):
        h.update(f"{e.label}\x1f{e.category}\x1f{e.language}\x1f{e.source}\x1f{e.text}\x1e".encode())
    return h.hexdigest()


def train(
    examples: Sequence[LabeledText],
    config: TrainingConfig | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Cross-validate by source, fit the final weights on everything, and report."""
    config = config or TrainingConfig()
    if len(examples) < 4:
        raise TrainingError("training needs at least four examples")
    labels = [e.is_attack for e in examples]
    if all(labels) or not any(labels):
        raise TrainingError("training needs both attack and benign examples")
    say = progress or (lambda _message: None)
    say(f"featurising {len(examples)} examples")
    per_example = [training_vectors(e, config.features, config.max_windows_per_text) for e in examples]
    folds = max(2, min(config.folds, len(examples) // 2))
    fold_of, split = assign_folds(examples, folds, config.seed)

    scores = [0.0] * len(examples)
    for fold in range(folds):
        train_idx = [i for i in range(len(examples)) if fold_of[i] != fold]
        test_idx = [i for i in range(len(examples)) if fold_of[i] == fold]
        if not test_idx:
            continue
        say(f"fold {fold + 1}/{folds}: {len(train_idx)} train, {len(test_idx)} held out")
        vectors, window_labels = _flatten(per_example, labels, train_idx)
        try:
            weights, bias = fit_weights(vectors, window_labels, config)
        except TrainingError:
            raise TrainingError(f"fold {fold + 1} has only one label to train on: add examples or sources") from None
        for i in test_idx:
            scores[i] = _score(per_example[i], weights, bias)

    say("fitting the final weights on all examples")
    vectors, window_labels = _flatten(per_example, labels, range(len(examples)))
    weights, bias = fit_weights(vectors, window_labels, config)

    calibration = calibration_table(scores, labels)
    threshold = threshold_for(calibration, config.target_fpr)
    report = TrainingReport(
        split=split,
        folds=folds,
        examples=len(examples),
        attacks=sum(labels),
        benign=len(labels) - sum(labels),
        windows=len(vectors),
        threshold=threshold,
        target_fpr=config.target_fpr,
        overall=metrics_at(scores, labels, threshold),
        by_category=_grouped(examples, scores, lambda e: e.category, threshold),
        by_source=_grouped(examples, scores, lambda e: e.source, threshold),
        calibration=calibration,
        pr_curve=[
            {"threshold": r["threshold"], "precision": r["precision"], "recall": r["recall"]} for r in calibration
        ],
        data_digest=data_digest(examples),
        config={**config.to_dict(), "features": config.features.to_dict()},
    )
    return TrainedModel(weights=weights, bias=bias, report=report, out_of_fold_scores=scores)


def _flatten(
    per_example: Sequence[Sequence[Vector]], labels: Sequence[bool], members: Iterable[int]
) -> tuple[list[Vector], list[bool]]:
    vectors: list[Vector] = []
    window_labels: list[bool] = []
    for i in members:
        vectors.extend(per_example[i])
        window_labels.extend([labels[i]] * len(per_example[i]))
    return vectors, window_labels
