"""Bounds on the JSON Arbiter accepts: one validator for every request body and free-form field.

Every JSON value a client can send (a request body, an envelope's ``input`` or ``attributes``, a
guard check's ``context``, LiteLLM's parameters) is checked here before anything stores or hashes
it, so a hostile value is answered with a 400 that names its JSON pointer instead of a
``RecursionError`` (deep nesting), a ``UnicodeEncodeError`` (a lone surrogate such as ``\\ud800``
cannot be encoded as UTF-8, so it cannot be hashed), a PostgreSQL ``DataError`` (NUL cannot be
stored in ``text`` or ``jsonb``) or an unbounded row in the ledger.

The limits (see ``README.md``, "Limits"):

=====================================================  ==========  ============
what                                                   max depth   max size
=====================================================  ==========  ============
a whole request body (any endpoint)                    64          the body limit (``ARBITER_MAX_REQUEST_BYTES``)
free-form fields: envelope ``actor``/``versions``/     32          16 KiB each
``verdicts``/``evidence``/``cost``/``attributes``,
guard ``context``, LiteLLM ``request_data`` and
``additional_provider_specific_params``
content: envelope ``input``/``output``, a review's     32          1 MiB each
``corrected_output``
OTLP span and resource attributes                      32          64 KiB per span
=====================================================  ==========  ============

Depth counts containers: ``{}`` is depth 1, ``{"a": []}`` depth 2. Size is the UTF-8 length of the
compact JSON. The walks are iterative (no recursion), so any depth is measured safely: a fast one
that builds no paths, and, only when it finds something, a slow one that names the JSON pointer.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

# A str code point in U+D800..U+DFFF is a lone surrogate: json.loads joins valid pairs into one
# code point, so whatever is left cannot be encoded as UTF-8. NUL cannot be stored by PostgreSQL.
_FORBIDDEN_CHARS = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class JsonBounds:
    max_depth: int
    max_bytes: int | None


BODY = JsonBounds(max_depth=64, max_bytes=None)
FREE_FORM = JsonBounds(max_depth=32, max_bytes=16 * 1024)
CONTENT = JsonBounds(max_depth=32, max_bytes=1024 * 1024)
SPAN_ATTRIBUTES = JsonBounds(max_depth=32, max_bytes=64 * 1024)


@dataclass(frozen=True)
class JsonProblem:
    """Why a value is refused: a stable ``code``, a sentence, and the JSON pointer it is about."""

    code: str
    message: str
    path: str


def _pointer(parts: tuple[str | int, ...]) -> str:
    # The pointer goes back to the client in the error: a bad key in it is shown as U+FFFD.
    return "".join("/" + _FORBIDDEN_CHARS.sub("\ufffd", str(p)).replace("~", "~0").replace("/", "~1") for p in parts)


def forbidden_character(text: str) -> str | None:
    """``"NUL"`` or ``"lone surrogate"`` when ``text`` holds one, else ``None``."""
    match = _FORBIDDEN_CHARS.search(text)
    if match is None:
        return None
    return "NUL" if match.group() == "\x00" else "lone surrogate"


def _character_problem(text: str, parts: tuple[str | int, ...], what: str) -> JsonProblem | None:
    found = forbidden_character(text)
    if found is None:
        return None
    message = f"{what} contains a {found} character ({'U+0000' if found == 'NUL' else 'U+D800..U+DFFF'})"
    return JsonProblem("invalid_characters", message + ", which cannot be stored.", _pointer(parts))


def json_problem(
    value: Any, bounds: JsonBounds, *, root: tuple[str | int, ...] = (), check_strings: bool = True
) -> JsonProblem | None:
    """The first reason ``value`` is not acceptable JSON within ``bounds``, or ``None``.

    Refused: nesting deeper than ``bounds.max_depth``, a NUL or lone surrogate in any string or
    key, NaN and infinity, values that are not JSON, and (when ``bounds.max_bytes`` is set) a
    compact encoding larger than that. ``check_strings=False`` skips the character check (the
    parser knows from the raw text when no string can hold one).
    """
    if not _within(value, bounds.max_depth, check_strings):
        # The fast pass also stops at containers of other types (a tuple from code, not JSON):
        # the slow pass, which accepts those, decides.
        problem = _locate(value, bounds, root)
        if problem is not None:
            return problem
    if bounds.max_bytes is not None:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
        if size > bounds.max_bytes:
            message = f"The value is {size} bytes of JSON; at most {bounds.max_bytes} are accepted here."
            return JsonProblem("json_too_large", message, _pointer(root))
    return None


def _within(value: Any, max_depth: int, check_strings: bool) -> bool:
    """The fast pass: ``True`` when ``value`` is plain JSON within ``max_depth`` (and, if asked,
    free of NUL and lone surrogates). No paths are built; :func:`_locate` finds the problem."""
    search = _FORBIDDEN_CHARS.search
    kind = type(value)
    if kind is not dict and kind is not list:
        return _scalar_ok(value, check_strings)
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        if type(item) is dict:
            if check_strings and any(type(k) is not str or search(k) for k in item):
                return False
            children = item.values()
        else:
            children = item
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is str:
                if check_strings and search(child):
                    return False
            elif not _scalar_ok(child, check_strings):
                return False
    return True


def _scalar_ok(value: Any, check_strings: bool) -> bool:
    kind = type(value)
    if kind is str:
        return not (check_strings and _FORBIDDEN_CHARS.search(value))
    if kind is float:
        return math.isfinite(value)
    return value is None or kind is bool or kind is int


def _locate(value: Any, bounds: JsonBounds, root: tuple[str | int, ...]) -> JsonProblem | None:
    """The slow pass, run only once something is wrong: the problem with its JSON pointer."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, root)]
    while stack:
        item, depth, parts = stack.pop()
        if isinstance(item, str):
            problem = _character_problem(item, parts, "A string")
            if problem:
                return problem
        elif isinstance(item, dict):
            if depth + 1 > bounds.max_depth:
                return _too_deep(bounds, parts)
            for key, child in item.items():
                if not isinstance(key, str):
                    return JsonProblem("invalid_json", "Object keys must be strings.", _pointer(parts))
                problem = _character_problem(key, (*parts, key), "A key")
                if problem:
                    return problem
                stack.append((child, depth + 1, (*parts, key)))
        elif isinstance(item, list | tuple):
            if depth + 1 > bounds.max_depth:
                return _too_deep(bounds, parts)
            stack.extend((child, depth + 1, (*parts, i)) for i, child in enumerate(item))
        elif isinstance(item, float):
            if not math.isfinite(item):
                return JsonProblem("invalid_json", "NaN and infinity are not JSON numbers.", _pointer(parts))
        elif not (item is None or isinstance(item, bool | int)):
            return JsonProblem("invalid_json", f"Not a JSON value ({type(item).__name__}).", _pointer(parts))
    return None


def _too_deep(bounds: JsonBounds, parts: tuple[str | int, ...]) -> JsonProblem:
    message = f"JSON nested more than {bounds.max_depth} levels deep is not accepted."
    return JsonProblem("json_too_deep", message, _pointer(parts))


# In JSON text, NUL and surrogates can only appear as backslash-u escapes (raw control characters and invalid
# UTF-8 are refused by the decoder): when the raw body has none, no string needs checking.
_ESCAPED_FORBIDDEN = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def body_may_hold_forbidden_characters(raw: bytes) -> bool:
    # A one-byte ``in`` is a memchr (~0.5 µs per 64 KiB): most bodies have no backslash at all.
    # (A two-byte ``in`` was measured 400 times slower.)
    return b"\\" in raw and _ESCAPED_FORBIDDEN.search(raw) is not None
