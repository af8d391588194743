"""The classifier artifact: one ``.npz`` file, no pickle anywhere.

An artifact holds three arrays: ``weights`` (float32, one per feature), ``bias`` (float32,
shape (1,)) and ``manifest`` (a unicode scalar holding JSON: format, name, version, feature
configuration, default threshold, calibration curve, training summary). It is read with
``numpy.load(..., allow_pickle=False)``, so an object array in a crafted file is refused
by numpy itself, and only after its SHA-256 matched the digest the caller expected: the
digest is kept apart from the bytes (in the `ClassifierVersion` row, or in the code for the
shipped model), so a file changed on disk or in the database is rejected before it is parsed.

`load` caches parsed models by digest: a process parses each version once.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from guardrails.classifier.features import FeatureConfig, FeatureConfigError
from guardrails.classifier.model import LinearModel, calibration_points

ARTIFACT_FORMAT = "arbiter-injection-classifier/1"
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
MAX_MANIFEST_CHARS = 1_000_000
_ARRAYS = frozenset({"weights", "bias", "manifest"})
_CACHE_SIZE = 8


class ArtifactError(Exception):
    """An artifact that may not be used: wrong digest, wrong format, or inconsistent content."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def pack(
    *,
    name: str,
    version: int,
    config: FeatureConfig,
    weights: npt.NDArray[np.floating[Any]],
    bias: float,
    threshold: float,
    calibration: list[dict[str, float]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """Serialise a model to artifact bytes (the caller stores them with `sha256(blob)`)."""
    manifest: dict[str, Any] = {
        "format": ARTIFACT_FORMAT,
        "name": name,
        "version": int(version),
        "features": config.to_dict(),
        "threshold": float(threshold),
        "calibration": calibration or [],
        **dict(extra or {}),
    }
    weights32 = np.ascontiguousarray(weights, dtype=np.float32)
    if weights32.shape != (config.size,):
        raise ArtifactError("bad_shape", f"weights have shape {weights32.shape}, expected ({config.size},)")
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        weights=weights32,
        bias=np.asarray([bias], dtype=np.float32),
        manifest=np.asarray(json.dumps(manifest, sort_keys=True, allow_nan=False)),
    )
    return buffer.getvalue()


def _check_digest(blob: bytes, expected_sha256: str) -> str:
    actual = sha256(blob)
    if not hmac.compare_digest(actual, expected_sha256.strip().lower()):
        raise ArtifactError(
            "digest_mismatch", f"artifact digest {actual[:12]}… does not match the expected {expected_sha256[:12]}…"
        )
    return actual


def _manifest(raw: Any) -> dict[str, Any]:
    if raw.dtype.kind != "U" or raw.shape != ():
        raise ArtifactError("bad_manifest", "manifest must be a unicode scalar")
    text = str(raw[()])
    if len(text) > MAX_MANIFEST_CHARS:
        raise ArtifactError("bad_manifest", "manifest is too large")
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactError("bad_manifest", f"manifest is not JSON: {exc.msg}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError("bad_format", f"not an {ARTIFACT_FORMAT} artifact")
    return manifest


def parse(blob: bytes, expected_sha256: str) -> LinearModel:
    """Verify and parse artifact bytes; `ArtifactError` if anything is off. Not cached."""
    if len(blob) > MAX_ARTIFACT_BYTES:
        raise ArtifactError("too_large", f"artifact is larger than {MAX_ARTIFACT_BYTES} bytes")
    digest = _check_digest(blob, expected_sha256)
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            if set(archive.files) != _ARRAYS:
                raise ArtifactError(
                    "bad_format", f"artifact arrays are {sorted(archive.files)}, expected {sorted(_ARRAYS)}"
                )
            weights = archive["weights"]
            bias = archive["bias"]
            manifest = _manifest(archive["manifest"])
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        # allow_pickle=False makes numpy raise ValueError on an object array.
        raise ArtifactError("unreadable", f"artifact cannot be read: {exc}") from exc
    if weights.dtype != np.float32 or weights.ndim != 1 or bias.dtype != np.float32 or bias.shape != (1,):
        raise ArtifactError("bad_shape", "weights must be a float32 vector and bias a float32 of shape (1,)")
    if not (np.isfinite(weights).all() and np.isfinite(bias).all()):
        raise ArtifactError("bad_values", "weights contain NaN or infinity")
    try:
        config = FeatureConfig.from_dict(manifest.get("features") or {})
        threshold = float(manifest["threshold"])
        if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        model = LinearModel(
            name=str(manifest["name"]),
            version=int(manifest["version"]),
            config=config,
            weights=weights,
            bias=float(bias[0]),
            threshold=threshold,
            digest=digest,
            calibration=calibration_points(manifest.get("calibration") or []),
            manifest=manifest,
        )
    except (FeatureConfigError, KeyError, TypeError, ValueError) as exc:
        raise ArtifactError("bad_manifest", f"artifact manifest is invalid: {exc}") from exc
    weights.flags.writeable = False
    return model


_cache: OrderedDict[str, LinearModel] = OrderedDict()
_cache_lock = threading.Lock()


def load(expected_sha256: str, read: Callable[[], bytes]) -> LinearModel:
    """The model with this digest, parsed once per process: ``read`` is called only on a miss
    (it returns the bytes, from a file or a database row) and its bytes must match the digest."""
    key = expected_sha256.strip().lower()
    with _cache_lock:
        model = _cache.get(key)
        if model is not None:
            _cache.move_to_end(key)
            return model
    model = parse(read(), key)
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
