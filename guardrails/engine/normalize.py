# ruff: noqa: RUF001 - the look-alike tables are made of ambiguous characters
"""Text normalisation for matching, with a map back to the original offsets.

Two views of a text are produced, both aligned character for character with each other:

``folded``
    NFKC, case folding, accents stripped, invisible characters removed (zero-width, bidi
    controls, Unicode tag characters U+E0000-U+E007F, variation selectors, ASCII control
    characters other than tab/newline), Cyrillic/Greek/… look-alikes mapped to Latin,
    non-ASCII punctuation mapped to its ASCII twin or to a space.
``skeleton``
    ``folded`` plus leetspeak undone (0→o, 1→i, 3→e, 4→a, 5→s, 7→t, @→a, $→s) and ``l``
    folded into ``i`` (so "a11", "aII" and "all" all read "aii": the ambiguous 1/l/I class
    collapses to one letter). Phrases are normalised with the same function, so a phrase
    and its obfuscated spellings meet on the same skeleton.

In both views, runs of three or more single letters separated by one space, dot, dash,
underscore or star ("I g n o r e", "i.g.n.o.r.e") are joined ("ignore").

Speed: the hot path does no per-character Python work for ASCII text. Non-ASCII characters
are folded by a codec error handler that sees only the non-ASCII runs, one cached lookup
each, and ASCII is mapped with ``bytes.translate``. The offset map back to the original is
built lazily, only when a hit on a normalised view needs its span, from the same per-character
function (`fold_char`), so the two paths cannot disagree. Characters are folded one at a
time: NFKC compositions that span two code points (e.g. Hangul jamo sequences) are not
formed; phrases are folded the same way, so this only matters for mixed forms.
"""

from __future__ import annotations

import bisect
import codecs
import re
import unicodedata
from typing import Any

import re2

from guardrails.engine.re2_patterns import re2_options

__all__ = ["NormalizedText", "fold_char", "normalize", "phrase_key", "skeleton"]


_INVISIBLE_EXTRA = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u180e")

# Look-alikes, keyed by the exact character (case matters: Greek capital Eta looks like
# "H", small eta like "n"). Applied before and after case folding.
_HOMOGLYPHS: dict[str, str] = {
    # Cyrillic capitals
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q",
    "Ԝ": "W", "Ү": "Y", "Һ": "H", "Ӏ": "I", "Ԁ": "D", "Ꙇ": "I",
    # Cyrillic small
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s",
    "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ү": "y",
    "к": "k", "ѵ": "v", "ɡ": "g", "ꙇ": "i",
    # Greek capitals
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "Ϳ": "J",
    # Greek small
    "α": "a", "ο": "o", "ρ": "p", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u",
    "χ": "x", "ε": "e", "ϲ": "c", "ϳ": "j", "ς": "s",
    # Armenian, Cherokee capitals
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "Ꭺ": "A", "Ᏼ": "B", "Ꮯ": "C",
    "Ꭼ": "E", "Ꮐ": "G", "Ꮋ": "H", "Ꭻ": "J", "Ꮶ": "K", "Ꮇ": "M", "Ꮲ": "P", "Ꮪ": "S",
    "Ꭲ": "T", "Ꮃ": "W",
    # Latin letters that NFKC/NFD leave alone
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b", "ð": "d",
    "ĸ": "k", "æ": "ae", "œ": "oe", "ɑ": "a", "ɩ": "i", "ɪ": "i", "ʟ": "l", "ᴀ": "a",
    "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ᴊ": "j", "ᴋ": "k",
    "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u",
    "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
}  # fmt: skip

_PUNCT: dict[str, str] = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "‹": "'", "›": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "\u2028": "\n", "\u2029": "\n", "\u0085": "\n",
}  # fmt: skip

_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cc", "Cs"})

# ASCII tables, applied with bytes.translate to the whole encoded text. Control characters
# other than tab, newline and carriage return are deleted (they hide in "ig\x00nore").
_ASCII_DELETE = bytes(c for c in range(32) if c not in (9, 10, 13)) + b"\x7f"
_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = b"abcdefghijklmnopqrstuvwxyz"
_FOLDED_TABLE = bytes.maketrans(_UPPER, _LOWER)
_LEET_FROM = b"013457@$lL"
_LEET_TO = b"oieastasii"
_SKELETON_TABLE = bytes.maketrans(_UPPER + _LEET_FROM, _LOWER + _LEET_TO)

# Three or more single letters or digits, each separated by one space, dot, dash, underscore
# or star, with no letter or digit right before or after the run (group 1 is the run).
_RUN_RE: Any = re2.compile(r"(?:^|[^\pL\pN])([\pL\pN](?:[ .\-_*][\pL\pN]){2,})(?:[^\pL\pN]|$)", re2_options())
# A cheap detector for the same runs, added to the skeleton scan so that the common case
# (no spaced-out letters) costs nothing extra.
SPACED_RUN_DETECTOR = r"(?:^|[^\pL\pN])[\pL\pN][ .\-_*][\pL\pN][ .\-_*][\pL\pN](?:[^\pL\pN]|$)"
_IRREGULAR_RE = re.compile(r"[^\t\n\r\x20-\x7e]+")


def fold_char(char: str) -> str:
    """The folded form of one non-ASCII character (before the ASCII tables are applied).

    This is the single definition both the fast path and the offset map use.
    """
    cp = ord(char)
    if 0xE0000 <= cp <= 0xE007F or char in _INVISIBLE_EXTRA:
        return ""
    mapped = "".join(_HOMOGLYPHS.get(c, c) for c in unicodedata.normalize("NFKC", char))
    out: list[str] = []
    for c in unicodedata.normalize("NFD", mapped.casefold()):
        category = unicodedata.category(c)
        if category in _DROP_CATEGORIES:
            continue
        c = _HOMOGLYPHS.get(c, c)
        if len(c) == 1 and ord(c) > 0x7F:
            if c in _PUNCT:
                c = _PUNCT[c]
            elif category[0] in "PSZ":
                c = " "
        out.append(c)
    return unicodedata.normalize("NFC", "".join(out))


class _CharCache(dict[str, bytes]):
    """char → UTF-8 of `fold_char(char)`; bounded so hostile input cannot grow it forever."""

    def __missing__(self, char: str) -> bytes:
        if len(self) > 100_000:
            self.clear()
        value = fold_char(char).encode("utf-8")
        self[char] = value
        return value


class _OrdTable(dict[int, str]):
    """ord(char) → `fold_char(char)`, for `str.translate` on long non-ASCII runs."""

    def __missing__(self, cp: int) -> str:
        if len(self) > 100_000:
            self.clear()
        value = fold_char(chr(cp))
        self[cp] = value
        return value


_CHAR_BYTES = _CharCache()
_ORD_TABLE = _OrdTable()


def _fold_error_handler(exc: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    run = exc.object[exc.start : exc.end]
    if len(run) == 1:
        return _CHAR_BYTES[run], exc.end
    if len(run) <= 32:
        return b"".join([_CHAR_BYTES[c] for c in run]), exc.end
    return run.translate(_ORD_TABLE).encode("utf-8"), exc.end


_ERROR_HANDLER = "arbiter-guard-fold"
codecs.register_error(_ERROR_HANDLER, _fold_error_handler)


def _encode_folded(text: str) -> bytes:
    """UTF-8 bytes of the text with every non-ASCII character folded (ASCII untouched)."""
    if text.isascii():
        return text.encode("ascii")
    return text.encode("ascii", _ERROR_HANDLER)


class OffsetMap:
    """Piecewise map from offsets in a derived string back to offsets in its source.

    Anchors are sorted by derived offset; from an anchor on, offsets advance one to one
    (``atomic`` False) or all point at one source character (``atomic`` True, for a
    character that expanded into several).
    """

    __slots__ = ("_atomic", "_dst", "_src")

    def __init__(self, dst: list[int], src: list[int], atomic: list[bool]) -> None:
        self._dst = dst
        self._src = src
        self._atomic = atomic

    def position(self, pos: int) -> int:
        k = bisect.bisect_right(self._dst, pos) - 1
        if k < 0:
            return pos
        if self._atomic[k]:
            return self._src[k]
        return self._src[k] + (pos - self._dst[k])

    def span(self, start: int, end: int) -> tuple[int, int]:
        if end <= start:
            p = self.position(start)
            return p, p
        return self.position(start), self.position(end - 1) + 1

    @classmethod
    def from_deletions(cls, deleted: list[int]) -> OffsetMap:
        dst: list[int] = [0]
        src: list[int] = [0]
        atomic: list[bool] = [False]
        for n, index in enumerate(deleted):
            dst.append(index - n)
            src.append(index + 1)
            atomic.append(False)
        return cls(dst, src, atomic)


def _base_map(original: str) -> OffsetMap | None:
    """Map from folded/skeleton offsets to original offsets; None when it is the identity."""
    dst: list[int] = [0]
    src: list[int] = [0]
    atomic: list[bool] = [False]
    delta = 0
    for match in _IRREGULAR_RE.finditer(original):
        for i in range(match.start(), match.end()):
            char = original[i]
            width = 0 if ord(char) < 0x80 else len(fold_char(char))
            if width == 1:
                continue
            out = i + delta
            if width == 0:
                dst.append(out)
                src.append(i + 1)
                atomic.append(False)
            else:
                dst.append(out)
                src.append(i)
                atomic.append(True)
                dst.append(out + width)
                src.append(i + 1)
                atomic.append(False)
            delta += width - 1
    if len(dst) == 1:
        return None
    # Several anchors may share one derived offset (e.g. two deleted characters in a row):
    # the last one wins, which bisect_right picks.
    return OffsetMap(dst, src, atomic)


def _collapse(skeleton: str) -> tuple[str, list[int]] | None:
    """Join spaced-out letters; returns the new string and the deleted offsets, or None."""
    deleted: list[int] = []
    for match in _RUN_RE.finditer(skeleton):
        start, end = match.span(1)
        deleted.extend(range(start + 1, end, 2))
    if not deleted:
        return None
    keep = bytearray(b"\x01") * len(skeleton)
    for index in deleted:
        keep[index] = 0
    return "".join(c for c, k in zip(skeleton, keep, strict=True) if k), deleted


def _drop(text: str, deleted: list[int]) -> str:
    out: list[str] = []
    last = 0
    for index in deleted:
        out.append(text[last:index])
        last = index + 1
    out.append(text[last:])
    return "".join(out)


class NormalizedText:
    """Both normalised views of one text, with their map back to the original.

    Built by the engine for every check; the byte forms feed RE2 directly, the str forms
    and the offset map are computed only when a hit needs them.
    """

    __slots__ = (
        "_base",
        "_base_done",
        "_collapse_map",
        "_deleted",
        "_encoded",
        "_folded",
        "_folded_bytes",
        "_skeleton",
        "_skeleton_bytes",
        "collapsed",
        "original",
    )

    def __init__(self, original: str) -> None:
        self.original = original
        self._encoded = _encode_folded(original)
        self._skeleton_bytes: bytes | None = self._encoded.translate(_SKELETON_TABLE, _ASCII_DELETE)
        self._folded_bytes: bytes | None = None
        self._skeleton: str | None = None
        self._folded: str | None = None
        self._deleted: list[int] | None = None
        self._collapse_map: OffsetMap | None = None
        self._base: OffsetMap | None = None
        self._base_done = False
        self.collapsed = False

    @property
    def skeleton_bytes(self) -> bytes:
        if self._skeleton_bytes is None:
            self._skeleton_bytes = self.skeleton.encode("utf-8")
        return self._skeleton_bytes

    @property
    def skeleton(self) -> str:
        if self._skeleton is None:
            assert self._skeleton_bytes is not None
            self._skeleton = self._skeleton_bytes.decode("utf-8")
        return self._skeleton

    @property
    def folded_bytes(self) -> bytes:
        if self._folded_bytes is None:
            self._folded_bytes = self.folded.encode("utf-8")
        return self._folded_bytes

    @property
    def folded(self) -> str:
        if self._folded is None:
            raw = self._encoded.translate(_FOLDED_TABLE, _ASCII_DELETE).decode("utf-8")
            self._folded = raw if self._deleted is None else _drop(raw, self._deleted)
        return self._folded

    def collapse_spaced_letters(self) -> bool:
        """Join spaced-out letters in both views (once); True if anything changed."""
        if self.collapsed:
            return False
        self.collapsed = True
        result = _collapse(self.skeleton)
        if result is None:
            return False
        collapsed, deleted = result
        if self._folded is not None:
            self._folded = _drop(self._folded, deleted)
        self._folded_bytes = None
        self._skeleton = collapsed
        self._skeleton_bytes = None
        self._deleted = deleted
        self._collapse_map = OffsetMap.from_deletions(deleted)
        return True

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in either normalised view → offsets in the original text."""
        if self._collapse_map is not None:
            start, end = self._collapse_map.span(start, end)
        if not self._base_done:
            self._base = _base_map(self.original)
            self._base_done = True
        if self._base is not None:
            start, end = self._base.span(start, end)
        return start, end


def normalize(text: str, *, collapse: bool = True) -> NormalizedText:
    """Normalise a text (see the module docstring for what that means)."""
    normalized = NormalizedText(text)
    if collapse:
        normalized.collapse_spaced_letters()
    return normalized


def skeleton(text: str) -> str:
    """The skeleton view of a text: what phrases are matched against."""
    return normalize(text).skeleton


def phrase_key(text: str) -> str:
    """Skeleton with everything but letters and digits removed: identifies which phrase of a
    rule a normalised match came from, whatever separators the attacker used."""
    return "".join(c for c in skeleton(text) if c.isalnum())
