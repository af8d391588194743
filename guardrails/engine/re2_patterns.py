"""RE2 in one place: the options every compile uses, the text of an RE2 error, and the check a
user-supplied pattern passes before it is saved.

Every pattern any rule kind accepts (regex rules, phrases, canary tokens, the ``pattern`` and
``patternProperties`` of a ``json_schema`` rule) is compiled by RE2, which runs in time
linear in the text: no back-references, no look-around, and so no catastrophic backtracking.
"""

from __future__ import annotations

import re
from typing import Any

import re2

__all__ = [
    "MAX_PATTERN_CHARS",
    "MAX_PROGRAM_SIZE",
    "MAX_REPEAT",
    "PATTERN_MAX_MEM",
    "SET_MAX_MEM",
    "check_pattern",
    "compile_pattern",
    "re2_error_message",
    "re2_options",
]

MAX_PATTERN_CHARS = 2000
MAX_REPEAT = 1000
MAX_PROGRAM_SIZE = 50_000
# One user pattern gets a small DFA budget; a policy's merged multi-pattern set a larger one.
PATTERN_MAX_MEM = 8 << 20
SET_MAX_MEM = 64 << 20

_REPEAT_RE = re.compile(r"(?<!\\)\{(\d+)(?:,(\d*))?\}")


def re2_options(*, max_mem: int = SET_MAX_MEM) -> Any:
    """Options for every RE2 compile: errors are raised, never logged to stderr."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = max_mem
    return options


def re2_error_message(exc: BaseException) -> str:
    """RE2's error text (it raises with bytes arguments)."""
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def compile_pattern(pattern: str, *, max_mem: int = SET_MAX_MEM) -> Any:
    """``re2.compile`` with the shared options (raises ``re2.error`` on a bad pattern)."""
    return re2.compile(pattern, re2_options(max_mem=max_mem))


def check_pattern(pattern: str, *, allow_empty_match: bool = False) -> str | None:
    """Why this user-supplied pattern is refused, or None.

    Refused: longer than `MAX_PATTERN_CHARS`, a repeat count over `MAX_REPEAT` (``x{100000}``
    compiles into a huge program), anything RE2 does not accept (look-around,
    back-references), a program over `MAX_PROGRAM_SIZE`, and, unless `allow_empty_match`, a
    pattern that matches the empty string (a guard rule that fires on every text).
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"is {len(pattern)} characters long; the limit is {MAX_PATTERN_CHARS}"
    for match in _REPEAT_RE.finditer(pattern):
        counts = [int(g) for g in match.groups() if g]
        if counts and max(counts) > MAX_REPEAT:
            return f"repeat count {match.group()} exceeds {MAX_REPEAT}"
    try:
        compiled: Any = compile_pattern(pattern, max_mem=PATTERN_MAX_MEM)
    except Exception as exc:
        return f"RE2 rejected it: {re2_error_message(exc)}"
    if compiled.programsize > MAX_PROGRAM_SIZE:
        return f"is too complex (RE2 program size {compiled.programsize} > {MAX_PROGRAM_SIZE})"
    if not allow_empty_match and compiled.search("") is not None:
        return "matches the empty string, so it would fire on every text"
    return None
