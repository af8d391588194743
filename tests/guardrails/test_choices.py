"""The admin's choices and the engine's enums name the same values (the engine cannot import Django)."""

from __future__ import annotations

import pytest

from guardrails import choices, engine

PAIRS = [
    (choices.Stage, engine.Stage),
    (choices.Action, engine.Action),
    (choices.Severity, engine.Severity),
    (choices.FailMode, engine.FailMode),
]


@pytest.mark.parametrize(("django_choices", "engine_enum"), PAIRS, ids=[p[1].__name__ for p in PAIRS])
def test_choices_match_the_engine(django_choices, engine_enum):
    assert set(django_choices.values) == {member.value for member in engine_enum}
