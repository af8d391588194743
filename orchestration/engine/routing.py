"""Which endpoint of a model alias to try first, and where to fall back.

An alias lists endpoints with a ``priority`` (lower first) and a ``weight``. The attempt
order is: the endpoints of the best priority in a weighted random order, then those of the
next priority, and so on. The caller tries them in that order and moves on when an endpoint's
breaker is open (no network call is made) or when it failed retryably after its own retries;
so the first endpoint that answers is a weighted choice among the *healthy* endpoints of the
first priority that has one.

Within a priority the order is a weighted sample without replacement (Efraimidis and
Spirakis, "Weighted random sampling with a reservoir", 2006: sort by ``u ** (1 / weight)``),
so the first pick is endpoint *i* with probability ``weight_i / sum(weights)``, and once it
is skipped the next pick is again weighted among those left.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import groupby


@dataclass(frozen=True, slots=True)
class EndpointOption:
    """One endpoint of an alias. ``ref`` is whatever the caller needs back (a row id, a config)."""

    ref: Hashable
    priority: int
    weight: int

    def __post_init__(self) -> None:
        if self.weight < 1:
            raise ValueError("an endpoint's weight must be >= 1 (disable it instead of weighting it 0)")


def attempt_order(options: Sequence[EndpointOption], *, rng: random.Random | None = None) -> list[EndpointOption]:
    """Every option once: priorities ascending, weighted random order inside each priority."""
    draw = (rng or random).random
    ordered: list[EndpointOption] = []
    by_priority = sorted(options, key=lambda o: o.priority)
    for _, group in groupby(by_priority, key=lambda o: o.priority):
        members = list(group)
        if len(members) == 1:
            ordered.extend(members)
            continue
        # 1 - random() is in (0, 1]: a zero draw would tie every endpoint at key 0.
        keyed = [((1.0 - draw()) ** (1.0 / option.weight), index, option) for index, option in enumerate(members)]
        keyed.sort(key=lambda item: (-item[0], item[1]))
        ordered.extend(option for _, _, option in keyed)
    return ordered
