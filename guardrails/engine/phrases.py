"""Phrases: word sequences matched on the skeleton view.

A phrase is normalised with the same function as the text (`normalize.skeleton`) and cut
into words (runs of letters and digits); between words the text may have any run of
ASCII punctuation or spacing, or none at all. So "ignore previous instructions" matches
"IGNORE... previous -- instructions", "1gn0re prev10us instructi0ns", "ignorepreviousinstructions"
and "i g n o r e previous instructions".

Alternatives: ``{a|b|}`` in a phrase is a choice between ``a``, ``b`` and nothing, so one
line covers a family without spelling out every combination::

    {ignore|disregard|forget} {all|any|} {previous|prior} {instructions|rules}

Punctuation is never matched literally, so braces and bars are free to serve this purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import re2

from guardrails.engine.normalize import skeleton

__all__ = ["SEP", "is_template", "phrase_key", "phrase_pattern", "phrase_tokens"]

# Between words: any run of ASCII non-alphanumerics (the skeleton has folded non-ASCII
# punctuation to ASCII or spaces), including none.
SEP = r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]*"
_TOKEN_RE = re.compile(r"[^\W_]+")
_GROUP_RE = re.compile(r"\{([^{}]*\|[^{}]*)\}")


def phrase_tokens(text: str) -> list[str]:
    """The words of a text on the skeleton view."""
    return _TOKEN_RE.findall(skeleton(text))


def phrase_key(text: str) -> str:
    return "".join(phrase_tokens(text))


def is_template(phrase: str) -> bool:
    return _GROUP_RE.search(phrase) is not None


@dataclass(frozen=True, slots=True)
class _Slot:
    alternatives: tuple[tuple[str, ...], ...]  # each a non-empty token sequence
    optional: bool


def _slots(phrase: str) -> list[_Slot]:
    slots: list[_Slot] = []
    pos = 0
    for match in _GROUP_RE.finditer(phrase):
        slots.extend(_Slot(((t,),), False) for t in phrase_tokens(phrase[pos : match.start()]))
        alternatives: list[tuple[str, ...]] = []
        optional = False
        for option in match.group(1).split("|"):
            tokens = tuple(phrase_tokens(option))
            if not tokens:
                optional = True
            elif tokens not in alternatives:
                alternatives.append(tokens)
        if alternatives:
            slots.append(_Slot(tuple(alternatives), optional))
        pos = match.end()
    slots.extend(_Slot(((t,),), False) for t in phrase_tokens(phrase[pos:]))
    return slots


def _edge_is_ascii(slots: list[_Slot], *, first: bool) -> bool:
    """Whether every character that can start (or end) a match is ASCII, so that RE2's
    ASCII-only \\b can serve as the word boundary there."""
    ordered = slots if first else list(reversed(slots))
    for slot in ordered:
        for tokens in slot.alternatives:
            token = tokens[0] if first else tokens[-1]
            char = token[0] if first else token[-1]
            if not char.isascii():
                return False
        if not slot.optional:
            return True
    return True


def phrase_pattern(phrase: str, *, word: bool) -> str | None:
    """RE2 pattern for a phrase on the skeleton view; None if it could match nothing but
    the empty string (no words, or only optional groups)."""
    slots = _slots(phrase)
    if not slots or all(slot.optional for slot in slots):
        return None
    parts: list[str] = []
    for slot in slots:
        options = [SEP.join(re2.escape(t) for t in tokens) for tokens in slot.alternatives]
        if len(options) == 1 and not slot.optional:
            parts.append(options[0])
        else:
            parts.append("(?:" + "|".join(options) + ")" + ("?" if slot.optional else ""))
    body = SEP.join(parts)
    if word and _edge_is_ascii(slots, first=True):
        body = r"\b" + body
    if word and _edge_is_ascii(slots, first=False):
        body += r"\b"
    return body
