"""The classifier versions shipped with Arbiter, as listed in ``artifacts/index.json``.

Standard library only: the engine's default policy reads this at import time.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
INDEX_PATH = ARTIFACTS_DIR / "index.json"


@dataclass(frozen=True, slots=True)
class ShippedModel:
    label: str
    sha256: str
    file: str
    threshold: float
    default: bool

    @property
    def path(self) -> Path:
        return ARTIFACTS_DIR / self.file

    @property
    def report_path(self) -> Path:
        return ARTIFACTS_DIR / f"{self.label}.report.json"


@functools.cache
def shipped_models() -> tuple[ShippedModel, ...]:
    data = json.loads(INDEX_PATH.read_text(encoding="utf-8"))
    return tuple(
        ShippedModel(
            label=str(row["label"]),
            sha256=str(row["sha256"]),
            file=str(row["file"]),
            threshold=float(row["threshold"]),
            default=bool(row.get("default", False)),
        )
        for row in data["models"]
    )


def default_shipped() -> ShippedModel:
    """The shipped version new default policies use."""
    models = shipped_models()
    return next((m for m in models if m.default), models[-1])


def shipped_by_sha(sha256: str) -> ShippedModel | None:
    return next((m for m in shipped_models() if m.sha256 == sha256), None)


def shipped_rule_config() -> dict[str, Any]:
    """Config of a ``local_classifier`` rule using the default shipped version at its
    calibrated threshold."""
    model = default_shipped()
    return {"model": model.label, "sha256": model.sha256, "threshold": model.threshold}
