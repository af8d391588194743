"""The strict verdict reader the LLM guard (and the eval judges) use."""

from __future__ import annotations

import pytest

from guardrails.engine import InvalidVerdict, Verdict, parse_verdict


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"verdict": "block", "score": 0.9, "reason": "override attempt"}', ("block", 0.9, "override attempt")),
        ('```json\n{"verdict": " FLAG ", "score": 1}\n```', ("flag", 1.0, "")),
        (b'{"verdict": "allow", "score": 0, "extra": [1, 2]}', ("allow", 0.0, "")),
        ({"verdict": "allow", "score": 0.25, "reason": "fine"}, ("allow", 0.25, "fine")),
    ],
    ids=["text", "fenced", "bytes-extra-keys", "mapping"],
)
def test_valid_verdicts(raw: object, expected: tuple[str, float, str]) -> None:
    verdict = parse_verdict(raw)
    assert verdict == expected
    assert isinstance(verdict, Verdict)
    assert (verdict.verdict, verdict.score, verdict.reason) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('Sure! {"verdict": "block", "score": 0.9}', "verdict is not JSON"),
        ('[{"verdict": "block", "score": 0.9}]', "must be a JSON object, got list"),
        ('{"verdict": "maybe", "score": 0.9}', "verdict must be one of block, allow, flag, got 'maybe'"),
        ('{"verdict": "block"}', "score must be a number, got NoneType"),
        ('{"verdict": "block", "score": true}', "score must be a number, got bool"),
        ('{"verdict": "block", "score": "0.9"}', "score must be a number, got str"),
        ('{"verdict": "block", "score": 1.5}', "score must be between 0 and 1"),
        ('{"verdict": "block", "score": NaN}', "verdict is not JSON"),
        ('{"verdict": "block", "score": 0.5, "reason": 3}', "reason must be a string"),
        ('{"verdict": ' + "[" * 50_000, "nested too deeply"),
        ('{"verdict": "block", "score": 0.5, "x": ' + "[" * 30 + "]" * 30 + "}", "nested 30 levels deep"),
    ],
    ids=["prose", "array", "vocabulary", "no-score", "bool", "string", "range", "nan", "reason", "deep", "nested"],
)
def test_anything_else_is_an_invalid_verdict(raw: str, message: str) -> None:
    with pytest.raises(InvalidVerdict) as error:
        parse_verdict(raw)
    assert message in str(error.value)


def test_a_judge_may_use_its_own_vocabulary() -> None:
    assert parse_verdict('{"verdict": "PASS", "score": 0.7}', verdicts=("pass", "fail")) == ("pass", 0.7, "")
    with pytest.raises(InvalidVerdict, match="one of pass, fail"):
        parse_verdict('{"verdict": "block", "score": 0.7}', verdicts=("pass", "fail"))
