"""Parsing JSON that came from outside (a model's answer, an output being checked), with bounds.

Python's ``json`` parser recurses once per nesting level, so ``[[[[…]]]]`` a few thousand
deep raises ``RecursionError`` (or worse, deep in whatever walks the result next). Every
JSON text that comes from a model or a client is read through `load_json`, which turns
that into a `JsonTooComplex` with a clear message, and then bounds the document's depth and
node count with an iterative walk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_JSON_LIMITS",
    "JsonLimits",
    "JsonTooComplex",
    "check_json_shape",
    "json_shape",
    "load_json",
    "strip_code_fence",
]


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """How deep and how large a parsed JSON document may be."""

    max_depth: int = 64
    max_nodes: int = 200_000


DEFAULT_JSON_LIMITS = JsonLimits()


class JsonTooComplex(ValueError):
    """A JSON document nested deeper or with more values than its limits allow."""


def strip_code_fence(text: str) -> str:
    """The body of a Markdown code fence (```json … ```) around the whole text, else the text."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) >= 6:
        first_newline = stripped.find("\n")
        if first_newline != -1:
            return stripped[first_newline + 1 : -3]
    return text


def json_shape(value: Any, *, stop_after: int | None = None) -> tuple[int, int]:
    """``(depth, nodes)`` of a JSON value, without recursion: a scalar is depth 0, ``[1]`` depth 1.

    Stops counting once ``nodes`` passes `stop_after`, so a huge document costs no more than
    the limit it is checked against.
    """
    depth = 0
    nodes = 0
    level: list[Any] = [value]
    while level:  # breadth first, one level at a time: C-speed extends, no per-node tuples
        nodes += len(level)
        if stop_after is not None and nodes > stop_after:
            break
        below: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                below.extend(item.values())
            elif isinstance(item, list | tuple):
                below.extend(item)
        if below:
            depth += 1
        level = below
    return depth, nodes


def check_json_shape(value: Any, limits: JsonLimits = DEFAULT_JSON_LIMITS, *, what: str = "the JSON") -> None:
    """Raise `JsonTooComplex` if `value` is deeper or larger than `limits`."""
    depth, nodes = json_shape(value, stop_after=limits.max_nodes)
    if depth > limits.max_depth:
        raise JsonTooComplex(f"{what} is nested {depth} levels deep; the limit is {limits.max_depth}")
    if nodes > limits.max_nodes:
        raise JsonTooComplex(f"{what} has more than {limits.max_nodes} values")


def load_json(text: str | bytes, limits: JsonLimits = DEFAULT_JSON_LIMITS, *, what: str = "the JSON") -> Any:
    """Parse JSON text within `limits`.

    Raises ``json.JSONDecodeError`` for text that is not JSON (NaN and Infinity included: they
    are not JSON) and `JsonTooComplex` for a document over the limits.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise JsonTooComplex(f"{what} is nested too deeply to parse; the limit is {limits.max_depth}") from None
    check_json_shape(value, limits, what=what)
    return value


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)
