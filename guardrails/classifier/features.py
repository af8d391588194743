"""Text → sparse feature vector, in numpy, with no fitted vocabulary.

One text becomes one or more *windows* (a long document is scored window by window and the
highest score counts, so an instruction hidden in page 30 is not diluted by pages 1 to 29,
and the cost is bounded by the text's length). Each window becomes:

* character n-grams (3 to 5 by default) of the prepared text, hashed into ``2**hash_bits``
  buckets: robust to inflections, typos, other languages and glued words;
* word unigrams and bigrams, hashed into the same buckets with a different seed;
* one value per *instruction structure* family (`guardrails.classifier.structure`), after
  the hashed part, scaled by ``structure_weight``.

The hashed counts are log-scaled (1 + ln count) and the hashed part is L2-normalised, so a
window's length changes neither its scale nor its score by itself. The *prepared* text is
the engine's folded view (NFKC, case folded, accents stripped, look-alikes mapped,
invisible characters dropped, spaced-out letters joined), with leetspeak undone inside
words that mix letters and digits and any base64 blob that decodes to text appended in
clear, so that obfuscation does not change what the model sees.

Hashing is 64-bit FNV-1a over code points, vectorised: the same text gives the same indices
on every machine and Python version (no ``hash()`` randomisation), which is what lets a
trained weight vector be shipped as a plain array.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from guardrails.classifier.structure import NAMES as STRUCTURE_NAMES
from guardrails.classifier.structure import STRUCTURE_VERSION, structure_counts
from guardrails.engine.normalize import normalize

FEATURES_VERSION = 1

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_SEED_CHAR = 0x9E3779B97F4A7C15
_SEED_WORD = 0xD6E8FEB86659FD93
_SEED_BIGRAM = 0xA0761D6478BD642F

IndexArray = npt.NDArray[np.int64]
ValueArray = npt.NDArray[np.float32]


class FeatureConfigError(ValueError):
    """A feature configuration this code cannot honour (unknown version, bad range)."""


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """How text becomes features. Stored in every artifact: a model is always scored with
    the configuration it was trained with."""

    hash_bits: int = 18
    char_ngram_min: int = 3
    char_ngram_max: int = 5
    word_ngram_max: int = 2
    window_chars: int = 1024
    window_overlap: int = 256
    structure_weight: float = 1.0
    max_decoded_blobs: int = 4
    features_version: int = FEATURES_VERSION
    structure_version: int = STRUCTURE_VERSION

    def __post_init__(self) -> None:
        if self.features_version != FEATURES_VERSION:
            raise FeatureConfigError(f"features version {self.features_version} is not supported")
        if self.structure_version != STRUCTURE_VERSION:
            raise FeatureConfigError(f"structure version {self.structure_version} is not supported")
        if not 10 <= self.hash_bits <= 24:
            raise FeatureConfigError("hash_bits must be between 10 and 24")
        if not 1 <= self.char_ngram_min <= self.char_ngram_max <= 8:
            raise FeatureConfigError("char n-gram range must be within 1..8")
        if not 0 <= self.word_ngram_max <= 3:
            raise FeatureConfigError("word_ngram_max must be within 0..3")
        if not 128 <= self.window_chars <= 65_536 or not 0 <= self.window_overlap <= self.window_chars // 2:
            raise FeatureConfigError("window_chars must be 128..65536 and window_overlap at most half of it")
        if not 0.0 <= self.structure_weight <= 10.0 or math.isnan(self.structure_weight):
            raise FeatureConfigError("structure_weight must be between 0 and 10")
        if not 0 <= self.max_decoded_blobs <= 16:
            raise FeatureConfigError("max_decoded_blobs must be between 0 and 16")

    @property
    def hashed_size(self) -> int:
        return 1 << self.hash_bits

    @property
    def size(self) -> int:
        """Length of the feature vector: hashed buckets, then one value per structure family."""
        return self.hashed_size + len(STRUCTURE_NAMES)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise FeatureConfigError(f"unknown feature settings: {sorted(unknown)}")
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise FeatureConfigError(str(exc)) from exc


# --- preparing the text -------------------------------------------------------------------------

_SPACES = re.compile(r"[^\S\n]+")
# Line breaks are kept (one per run): a fake "System:" turn starts a line.
_LINE_BREAKS = re.compile(r" ?\n\s*")
# A word that mixes letters with the digits/symbols leetspeak uses.
_LEET_WORD = re.compile(r"[a-z0-9@$]*[0-9@$][a-z0-9@$]*")
_LEET = str.maketrans("0134578@$", "oieastbas")
_HEX = re.compile(r"[0-9a-f]+")
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/]{16,4096}={0,2}")


def _undo_leet(match: re.Match[str]) -> str:
    word = match.group(0)
    letters = sum(c.isalpha() for c in word)
    # Leave numbers, hashes, ids and "mp3"/"h264"-like tokens alone: leetspeak is a word
    # written mostly in letters.
    if letters < 2 or letters < len(word) / 2 or len(word) > 24 or (len(word) >= 8 and _HEX.fullmatch(word)):
        return word
    return word.translate(_LEET)


def _decoded_blobs(original: str, limit: int) -> list[str]:
    """Base64 blobs in the original text that decode to mostly printable text."""
    found: list[str] = []
    if limit <= 0:
        return found
    for match in _BASE64_BLOB.finditer(original):
        blob = match.group(0)
        if len(blob) % 4:
            continue
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            continue
        text = raw.decode("utf-8", "ignore")
        printable = sum(c.isprintable() or c.isspace() for c in text)
        if len(text) >= 8 and printable >= 0.9 * len(text) and sum(c.isalpha() for c in text) >= 0.5 * len(text):
            found.append(text)
            if len(found) >= limit:
                break
    return found


def prepare(text: str, config: FeatureConfig) -> str:
    """The view of ``text`` that features are computed on (see the module docstring)."""
    folded = normalize(text).folded
    folded = _LEET_WORD.sub(_undo_leet, folded)
    blobs = _decoded_blobs(text, config.max_decoded_blobs)
    if blobs:
        decoded = " ".join(_LEET_WORD.sub(_undo_leet, normalize(blob).folded) for blob in blobs)
        folded = f"{folded} {decoded}"
    return _LINE_BREAKS.sub("\n", _SPACES.sub(" ", folded)).strip()


def windows(prepared: str, config: FeatureConfig) -> list[str]:
    """Overlapping windows of a prepared text; one window if it is short enough."""
    size, step = config.window_chars, config.window_chars - config.window_overlap
    if len(prepared) <= size:
        return [prepared]
    out: list[str] = []
    start = 0
    while True:
        out.append(prepared[start : start + size])
        if start + size >= len(prepared):
            return out
        start += step


# --- hashing ------------------------------------------------------------------------------------


def _mix(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # murmur3's 64-bit finaliser: spreads FNV's low-entropy low bits before masking.
    h = h ^ (h >> np.uint64(33))
    h = h * _MIX_1
    h = h ^ (h >> np.uint64(33))
    h = h * _MIX_2
    return h ^ (h >> np.uint64(33))


def _char_ngram_hashes(prepared: str, config: FeatureConfig) -> list[npt.NDArray[np.uint64]]:
    codes = np.frombuffer(prepared.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    out: list[npt.NDArray[np.uint64]] = []
    for n in range(config.char_ngram_min, config.char_ngram_max + 1):
        count = len(codes) - n + 1
        if count <= 0:
            continue
        h = np.full(count, (_SEED_CHAR * n) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64) ^ _FNV_OFFSET
        for k in range(n):
            h = (h ^ codes[k : k + count]) * _FNV_PRIME
        out.append(h)
    return out


_TOKEN = re.compile(r"\w+|[^\w\s]")


def _word_hashes(prepared: str, config: FeatureConfig) -> list[npt.NDArray[np.uint64]]:
    if config.word_ngram_max < 1:
        return []
    tokens = _TOKEN.findall(prepared)
    if not tokens:
        return []
    ids = np.fromiter((zlib.crc32(t.encode("utf-8")) for t in tokens), dtype=np.uint64, count=len(tokens))
    out = [ids ^ np.uint64(_SEED_WORD)]
    if config.word_ngram_max >= 2 and len(ids) > 1:
        out.append(((ids[:-1] * _FNV_PRIME) ^ ids[1:]) ^ np.uint64(_SEED_BIGRAM))
    if config.word_ngram_max >= 3 and len(ids) > 2:
        out.append(((((ids[:-2] * _FNV_PRIME) ^ ids[1:-1]) * _FNV_PRIME) ^ ids[2:]) ^ np.uint64(_SEED_BIGRAM >> 1))
    return out


def vectorize_window(window: str, config: FeatureConfig) -> tuple[IndexArray, ValueArray]:
    """Sparse feature vector of one prepared window: sorted indices and their values."""
    parts = _char_ngram_hashes(window, config) + _word_hashes(window, config)
    structure = np.asarray(structure_counts(window), dtype=np.float32) * np.float32(config.structure_weight)
    structure_idx = np.arange(config.hashed_size, config.size, dtype=np.int64)
    if parts:
        hashes = _mix(np.concatenate(parts))
        buckets = (hashes & np.uint64(config.hashed_size - 1)).astype(np.int64)
        idx, counts = np.unique(buckets, return_counts=True)
        values = (1.0 + np.log(counts)).astype(np.float32)
        values /= np.float32(np.sqrt(np.dot(values, values)))
    else:
        idx, values = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    keep = structure != 0
    return (
        np.concatenate([idx, structure_idx[keep]]),
        np.concatenate([values, structure[keep]]).astype(np.float32),
    )


def vectorize(text: str, config: FeatureConfig) -> list[tuple[IndexArray, ValueArray]]:
    """One sparse vector per window of ``text``."""
    prepared = prepare(text, config)
    return [vectorize_window(window, config) for window in windows(prepared, config)]
