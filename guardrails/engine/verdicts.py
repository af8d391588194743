"""Parsing a judge model's verdict: the one strict reader of "the model answered with a JSON verdict".

The guard's LLM tier uses it, and so will the eval judges. The contract:

- The answer is one JSON object, either the whole text or the whole text inside one Markdown
  code fence (```json … ```). Prose around the object, two objects, or a JSON array is not a
  verdict: a judge that does not follow its format is an error, never a guess.
- ``verdict``: a string, one of the allowed verdicts (for the guard: ``block``, ``allow``,
  ``flag``), compared after trimming and lower-casing. Required.
- ``score``: a number in [0, 1] (booleans, NaN and strings are refused). Required.
- ``reason``: a string; optional, ``""`` when absent.
- Other keys are ignored, so a judge prompt may ask for more (e.g. ``"evidence"``).
- The JSON is read with the bounds of `guardrails.engine.json_text` (nesting depth, size).

Anything else raises `InvalidVerdict` with a message that says what was wrong (and never
quotes more than a few dozen characters of the answer).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from guardrails.engine.json_text import JsonLimits, JsonTooComplex, load_json, strip_code_fence

__all__ = ["GUARD_VERDICTS", "InvalidVerdict", "Verdict", "parse_verdict", "valid_score"]

GUARD_VERDICTS: tuple[str, ...] = ("block", "allow", "flag")
_VERDICT_LIMITS = JsonLimits(max_depth=16, max_nodes=10_000)


class InvalidVerdict(ValueError):
    """The judge answered something that is not a valid verdict."""


class Verdict(NamedTuple):
    """A judge's answer. Unpacks as ``verdict, score, reason``."""

    verdict: str
    score: float
    reason: str


def valid_score(value: Any) -> float:
    """A score in [0, 1] as a float, or `InvalidVerdict`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidVerdict(f"score must be a number, got {type(value).__name__}")
    score = float(value)
    if math.isnan(score) or not 0.0 <= score <= 1.0:
        raise InvalidVerdict(f"score must be between 0 and 1, got {score!r}")
    return score


def parse_verdict(raw: Any, *, verdicts: Collection[str] = GUARD_VERDICTS) -> Verdict:
    """Read a judge's answer (JSON text, bytes, or an already parsed mapping) as a `Verdict`.

    `verdicts` are the allowed values of ``verdict`` (lower case). See the module docstring
    for the full contract; raises `InvalidVerdict` on anything else.
    """
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str):
        try:
            raw = load_json(strip_code_fence(raw), _VERDICT_LIMITS, what="the verdict")
        except json.JSONDecodeError as exc:
            raise InvalidVerdict(f"verdict is not JSON: {exc.msg}") from exc
        except JsonTooComplex as exc:
            raise InvalidVerdict(str(exc)) from exc
    if not isinstance(raw, Mapping):
        raise InvalidVerdict(f"verdict must be a JSON object, got {type(raw).__name__}")
    verdict = raw.get("verdict")
    if not isinstance(verdict, str) or verdict.strip().lower() not in verdicts:
        expected = ", ".join(verdicts)
        raise InvalidVerdict(f"verdict must be one of {expected}, got {verdict!r}"[:200])
    reason = raw.get("reason", "")
    if not isinstance(reason, str):
        raise InvalidVerdict("reason must be a string")
    return Verdict(verdict.strip().lower(), valid_score(raw.get("score")), reason)
