"""System-prompt leak detection by word shingles on the skeleton view.

The registered system prompt is cut into overlapping runs of ``n`` words; an output that
contains any such run (after normalisation, so case, accents, leetspeak and spacing do not
hide it) leaks at least ``n`` consecutive words of the prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guardrails.engine.normalize import NormalizedText, skeleton

_WORD_RE = re.compile(r"[^\W_]+")
MIN_SHINGLE_WORDS = 3


@dataclass(frozen=True, slots=True)
class LeakMatch:
    spans: tuple[tuple[int, int], ...]  # skeleton offsets of each leaked run
    ratio: float  # share of the prompt's shingles found in the text
    words: int  # longest leaked run, in words


@dataclass(frozen=True, slots=True)
class LeakIndex:
    n: int
    shingles: frozenset[str]

    @classmethod
    def build(cls, prompt: str, n: int) -> LeakIndex:
        words = _WORD_RE.findall(skeleton(prompt))
        # A prompt shorter than n words leaks when it appears whole.
        n = min(n, len(words))
        if n < MIN_SHINGLE_WORDS:
            return cls(n=n, shingles=frozenset())
        return cls(n=n, shingles=frozenset(_shingles(words, n)))

    def find(self, text: NormalizedText) -> LeakMatch | None:
        if not self.shingles:
            return None
        matches = list(_WORD_RE.finditer(text.skeleton))
        words = [m.group() for m in matches]
        n = self.n
        seen: set[str] = set()
        runs: list[list[int]] = []  # [first word, last word] of merged leaked runs
        for i, shingle in enumerate(_shingles(words, n)):
            if shingle not in self.shingles:
                continue
            seen.add(shingle)
            if runs and i <= runs[-1][1] + 1:
                runs[-1][1] = i + n - 1
            else:
                runs.append([i, i + n - 1])
        if not runs:
            return None
        spans = tuple((matches[a].start(), matches[b].end()) for a, b in runs)
        longest = max(b - a + 1 for a, b in runs)
        return LeakMatch(spans=spans, ratio=len(seen) / len(self.shingles), words=longest)


def _shingles(words: list[str], n: int) -> list[str]:
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
