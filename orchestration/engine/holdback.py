"""The output guard applied to a stream: send what is settled, hold back what a match could still reach.

A model's answer arrives in chunks; a secret or an e-mail address can be split across two of
them (``"key: sk-ab"`` + ``"c123…"``). ``StreamGuard`` keeps the text received so far and
releases it to the client only up to ``len(received) - lookbehind``: any match of at most
``lookbehind`` characters that a later chunk could still complete starts after that point,
so nothing already sent can become part of it. Released text has the redactions of the
screen applied; a redaction is never cut in two (release stops before it until the match is
complete). A ``block`` verdict stops the stream: nothing more is released.

The screen is any function from text to ``WindowVerdict`` (the orchestration service passes
the output policy's tier-1 rules, which are fast and deterministic). Each screen sees the
text from ``lookbehind`` characters before the release point to the end, so a pattern that
needs left context (a word boundary) sees it; matches that start before the release point
were settled earlier and are ignored.

Bound: a pattern longer than ``lookbehind`` can be split by the release point; the part
after it is still redacted, the part before was already sent. Choose ``lookbehind`` at least
as long as the longest thing the output rules must catch whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Replacement:
    """Replace ``text[start:end]`` of the screened window with ``placeholder``."""

    start: int
    end: int
    placeholder: str


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    blocked: bool = False
    replacements: tuple[Replacement, ...] = ()
    reason: str = ""


Screen = Callable[[str], WindowVerdict]


class StreamBlocked(Exception):
    """The screen blocked the stream; ``verdict`` says why. Nothing after ``released`` was sent."""

    def __init__(self, verdict: WindowVerdict, released: int) -> None:
        super().__init__(verdict.reason or "blocked by the output guard")
        self.verdict = verdict
        self.released = released


@dataclass
class StreamGuard:
    """Feed chunks in, get releasable text out. Not thread-safe (one per stream).

    ``min_step`` batches screens: the text is screened again only once this many characters
    beyond the look-behind are waiting, so a stream of one-token chunks is not screened per
    token. ``screens`` counts the calls to the screen (for the bench and the tests).
    """

    screen: Screen
    lookbehind: int = 256
    min_step: int = 32
    screens: int = 0
    _text: str = ""
    _released: int = 0  # characters of the received text already decided and sent
    _closed: bool = False

    def __post_init__(self) -> None:
        if self.lookbehind < 0 or self.min_step < 0:
            raise ValueError("lookbehind and min_step must be >= 0")

    @property
    def text(self) -> str:
        """Everything received (unredacted): for the final full check and the envelope."""
        return self._text

    @property
    def held(self) -> int:
        """Characters received but not released yet."""
        return len(self._text) - self._released

    def feed(self, chunk: str) -> str:
        """Add a chunk; return the text that can be sent now (often ``""``). Raises ``StreamBlocked``."""
        if self._closed:
            raise RuntimeError("the stream guard is finished")
        self._text += chunk
        if self.held < self.lookbehind + max(1, self.min_step):
            return ""
        return self._advance(final=False)

    def finish(self) -> str:
        """The stream ended: screen and release the rest. Raises ``StreamBlocked``."""
        if self._closed:
            return ""
        out = self._advance(final=True) if self.held or not self.screens else ""
        self._closed = True
        return out

    def _advance(self, *, final: bool) -> str:
        start = max(0, self._released - self.lookbehind)
        verdict = self.screen(self._text[start:])
        self.screens += 1
        if verdict.blocked:
            self._closed = True
            raise StreamBlocked(verdict, self._released)
        spans = _absolute(verdict.replacements, start, self._released)
        target = len(self._text) if final else len(self._text) - self.lookbehind
        for begin, end, _ in spans:
            if begin < target < end:
                target = begin  # never release half a redaction; wait for the match to complete
        out: list[str] = []
        position = self._released
        for begin, end, placeholder in spans:
            if end > target:
                break
            if begin < position:
                # A match longer than the look-behind began in text already sent: redact the rest.
                begin = position
            out.append(self._text[position:begin])
            out.append(placeholder)
            position = end
        if target > position:
            out.append(self._text[position:target])
            position = target
        self._released = max(self._released, position)
        return "".join(out)


def _absolute(replacements: Sequence[Replacement], offset: int, released: int) -> list[tuple[int, int, str]]:
    """Window replacements in received-text positions, sorted, merged, ending after ``released``."""
    spans = sorted((r.start + offset, r.end + offset, r.placeholder) for r in replacements if r.end + offset > released)
    merged: list[tuple[int, int, str]] = []
    for begin, end, placeholder in spans:
        if merged and begin < merged[-1][1]:
            last_begin, last_end, last_placeholder = merged[-1]
            merged[-1] = (last_begin, max(last_end, end), last_placeholder)
        else:
            merged.append((begin, end, placeholder))
    return merged
