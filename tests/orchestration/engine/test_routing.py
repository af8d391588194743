"""Alias endpoint order: priorities first, weighted choice inside a priority (fixed seeds)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from orchestration.engine.routing import EndpointOption, attempt_order


def test_priorities_come_in_order_and_every_endpoint_once():
    options = [
        EndpointOption("c", priority=2, weight=1),
        EndpointOption("a", priority=1, weight=5),
        EndpointOption("b", priority=1, weight=1),
        EndpointOption("d", priority=3, weight=1),
    ]
    for seed in range(50):
        order = [str(o.ref) for o in attempt_order(options, rng=random.Random(seed))]
        assert sorted(order[:2]) == ["a", "b"]
        assert order[2:] == ["c", "d"]


def test_first_pick_within_a_priority_follows_the_weights():
    # 3:1:1 over 20,000 draws: expected 12,000 / 4,000 / 4,000. Binomial sd is ~69 and ~57,
    # so a tolerance of 300 (over 4 sd) never flakes with a fixed seed and still catches a
    # uniform choice (6,667 each) or ignored weights.
    options = [EndpointOption("heavy", 1, 3), EndpointOption("light-1", 1, 1), EndpointOption("light-2", 1, 1)]
    rng = random.Random(20240601)
    firsts = Counter(attempt_order(options, rng=rng)[0].ref for _ in range(20_000))
    assert abs(firsts["heavy"] - 12_000) < 300
    assert abs(firsts["light-1"] - 4_000) < 300
    assert abs(firsts["light-2"] - 4_000) < 300


def test_after_skipping_the_first_the_second_pick_is_weighted_among_the_rest():
    # When "heavy" is skipped (its breaker is open), the next choice is 1:1 between the light ones.
    options = [EndpointOption("heavy", 1, 3), EndpointOption("light-1", 1, 2), EndpointOption("light-2", 1, 1)]
    rng = random.Random(7)
    seconds: Counter[object] = Counter()
    for _ in range(20_000):
        order = [o.ref for o in attempt_order(options, rng=rng)]
        if order[0] == "heavy":
            seconds[order[1]] += 1
    total = sum(seconds.values())
    assert abs(seconds["light-1"] / total - 2 / 3) < 0.02


def test_the_same_seed_gives_the_same_order():
    options = [EndpointOption(i, 1, i + 1) for i in range(5)]
    assert attempt_order(options, rng=random.Random(3)) == attempt_order(options, rng=random.Random(3))


def test_weights_must_be_positive():
    with pytest.raises(ValueError, match="weight"):
        EndpointOption("x", 1, 0)


def test_no_options_no_attempts():
    assert attempt_order([]) == []
