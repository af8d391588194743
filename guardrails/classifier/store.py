"""Where classifier artifacts come from: the versions shipped with Arbiter, and any source the
application adds (the Django layer adds the trained versions in the database).

Every artifact is addressed by its SHA-256. A shipped artifact's digest is recorded in
``artifacts/index.json`` next to it, so a changed file is refused at load (`ArtifactError`);
a trained one's is in its database row. A rule names the digest it wants, so a decision
can always be traced to the exact weights that made it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from guardrails.classifier import artifact
from guardrails.classifier.model import LinearModel
from guardrails.classifier.shipped import shipped_by_sha, shipped_models

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

ArtifactSource = Callable[[str], bytes | None]


class ModelNotFound(LookupError):
    """No source has an artifact with this digest."""


_sources: list[ArtifactSource] = []
_sources_lock = threading.Lock()


def add_source(source: ArtifactSource) -> None:
    """Add a place to look for artifacts by digest (returns the bytes, or None). Idempotent."""
    with _sources_lock:
        if source not in _sources:
            _sources.append(source)


def remove_source(source: ArtifactSource) -> None:
    with _sources_lock:
        if source in _sources:
            _sources.remove(source)


def read_artifact(sha256: str) -> bytes:
    """The artifact bytes for a digest, unverified (`load_model` verifies them)."""
    shipped = shipped_by_sha(sha256)
    if shipped is not None:
        return shipped.path.read_bytes()
    for source in list(_sources):
        blob = source(sha256)
        if blob is not None:
            return blob
    raise ModelNotFound(f"no classifier artifact with digest {sha256[:12]}…")


def is_known(sha256: str) -> bool:
    if any(m.sha256 == sha256 for m in shipped_models()):
        return True
    try:
        read_artifact(sha256)
    except ModelNotFound:
        return False
    return True


def load_model(sha256: str) -> LinearModel:
    """The verified model for a digest, parsed once per process (`artifact.load` caches it).

    Raises `ModelNotFound` or `artifact.ArtifactError`."""
    if not SHA256_RE.match(sha256):
        raise ModelNotFound(f"{sha256[:80]!r} is not a SHA-256 digest")
    return artifact.load(sha256, lambda: read_artifact(sha256))


def describe(model: LinearModel) -> Mapping[str, Any]:
    return {"label": model.label, "sha256": model.digest, "threshold": model.threshold}
