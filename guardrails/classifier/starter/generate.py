"""Run every family with its own seeded generator and de-duplicate."""

from __future__ import annotations

import random
import zlib

from guardrails.classifier.starter import attacks, benign
from guardrails.classifier.starter.common import Example


def generate(seed: int = 2024) -> list[Example]:
    """All starter examples, deterministic for a given seed. A text produced twice keeps its
    first occurrence, so one text never sits on both sides of a train/test split."""
    seen: set[str] = set()
    out: list[Example] = []
    for family in (*attacks.FAMILIES, *benign.FAMILIES):
        # One generator per family, seeded by its name: editing one family leaves the
        # others' output unchanged, which keeps diffs of the data file reviewable.
        rng = random.Random(seed ^ zlib.crc32(family.__name__.encode()))
        for example in family(rng):
            key = " ".join(example.text.lower().split())
            if key and key not in seen:
                seen.add(key)
                out.append(example)
    return out
