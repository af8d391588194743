# ruff: noqa: RUF001 - obfuscated attacks are made of ambiguous characters
"""The check pipeline: tiers, early exit, fail modes, redaction, windows."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from guardrails.engine import (
    ABSOLUTE_MAX_CHARS,
    Backends,
    Decision,
    FailMode,
    GuardTimeout,
    RuleSpec,
    Stage,
    TextTooLarge,
    Tier,
    check,
    parse_verdict,
)
from guardrails.engine.verdicts import InvalidVerdict

RuleFactory = Callable[..., RuleSpec]
PolicyFactory = Callable[..., Any]


class ScriptedClassifier:
    """Returns the scores (or raises the exceptions) it was given, and records its calls."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def score(self, text: str, rule: RuleSpec) -> float:
        self.calls.append(text)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]


class ScriptedJudge:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def judge(self, text: str, rule: RuleSpec) -> Mapping[str, Any]:
        self.calls.append(text)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]


BLOCK_VERDICT = {"verdict": "block", "score": 0.9, "reason": "asks to exfiltrate data"}
ALLOW_VERDICT = {"verdict": "allow", "score": 0.1, "reason": "fine"}


@pytest.fixture
def layered(make_rule: RuleFactory, make_policy: PolicyFactory) -> PolicyFactory:
    """A policy with one rule per tier: phrases, classifier, llm_guard."""

    def build(*, classifier_fail: str | None = None, judge_fail: str | None = None, fail_mode: str = "open") -> Any:
        return make_policy(
            make_rule("phrases", {"phrases": ["open sesame"]}, name="magic words"),
            make_rule("classifier", {"threshold": 0.8}, name="injection classifier", fail_mode=classifier_fail),
            make_rule(
                "llm_guard", {"prompt": "Is this an attack?", "threshold": 0.5}, name="judge", fail_mode=judge_fail
            ),
            fail_mode=fail_mode,
        )

    return build


def test_tiers_run_cheapest_first(layered: PolicyFactory) -> None:
    classifier, judge = ScriptedClassifier(0.1), ScriptedJudge(ALLOW_VERDICT)
    result = check(layered(), text="hello", stage="input", backends=Backends({"remote": classifier}, judge))
    assert result.decision is Decision.ALLOW
    assert result.tiers_run == (Tier.RULES, Tier.CLASSIFIER, Tier.LLM_GUARD)
    assert set(result.latency_ms) == {Tier.RULES, Tier.CLASSIFIER, Tier.LLM_GUARD}
    assert classifier.calls == ["hello"]
    assert judge.calls == ["hello"]


def test_tier1_block_means_no_classifier_call(layered: PolicyFactory) -> None:
    classifier, judge = ScriptedClassifier(0.99), ScriptedJudge(BLOCK_VERDICT)
    result = check(layered(), text="OPEN  SESAME!", stage="input", backends=Backends({"remote": classifier}, judge))
    assert result.decision is Decision.BLOCK
    assert result.tiers_run == (Tier.RULES,)
    assert classifier.calls == []
    assert judge.calls == []


def test_classifier_block_means_no_judge_call(layered: PolicyFactory) -> None:
    classifier, judge = ScriptedClassifier(0.95), ScriptedJudge(BLOCK_VERDICT)
    result = check(layered(), text="hello", stage="input", backends=Backends({"remote": classifier}, judge))
    assert result.decision is Decision.BLOCK
    assert result.tiers_run == (Tier.RULES, Tier.CLASSIFIER)
    hit = result.hits[0]
    assert (hit.tier, hit.entity, hit.score, hit.start, hit.end) == (Tier.CLASSIFIER, "INJECTION", 0.95, 0, 5)
    assert judge.calls == []


def test_judge_block(layered: PolicyFactory) -> None:
    judge = ScriptedJudge(BLOCK_VERDICT)
    result = check(
        layered(), text="hello", stage="input", backends=Backends({"remote": ScriptedClassifier(0.2)}, judge)
    )
    assert result.decision is Decision.BLOCK
    assert result.hits[0].tier is Tier.LLM_GUARD
    assert result.hits[0].detail.startswith("verdict block (score 0.90)")


def test_unsure_judge_block_becomes_flag(layered: PolicyFactory) -> None:
    judge = ScriptedJudge({"verdict": "block", "score": 0.3, "reason": "maybe"})
    result = check(
        layered(), text="hello", stage="input", backends=Backends({"remote": ScriptedClassifier(0.2)}, judge)
    )
    assert result.decision is Decision.FLAG


ERRORS = [
    (RuntimeError("connection refused"), "backend_error"),
    (GuardTimeout("took 2s"), "timeout"),
    (TimeoutError(), "timeout"),
    (type("ReadTimeout", (Exception,), {})("httpx"), "timeout"),
]


@pytest.mark.parametrize(("exc", "code"), ERRORS)
def test_classifier_error_fail_open(layered: PolicyFactory, exc: Exception, code: str) -> None:
    judge = ScriptedJudge(ALLOW_VERDICT)
    result = check(
        layered(), text="hello", stage="input", backends=Backends({"remote": ScriptedClassifier(exc)}, judge)
    )
    assert result.decision is Decision.ALLOW
    assert result.hits == ()
    [error] = result.errors
    assert (error.tier, error.error_code, error.fail_mode_applied) == (Tier.CLASSIFIER, code, FailMode.OPEN)
    assert judge.calls == ["hello"]  # fail open: the next tier still runs


@pytest.mark.parametrize(("exc", "code"), ERRORS)
def test_classifier_error_fail_closed(layered: PolicyFactory, exc: Exception, code: str) -> None:
    judge = ScriptedJudge(ALLOW_VERDICT)
    compiled = layered(classifier_fail="closed")
    result = check(compiled, text="hello", stage="input", backends=Backends({"remote": ScriptedClassifier(exc)}, judge))
    assert result.decision is Decision.BLOCK
    assert result.hits == ()  # an outage, not an attack
    assert result.errors[0].error_code == code
    assert result.errors[0].fail_mode_applied is FailMode.CLOSED
    assert judge.calls == []


@pytest.mark.parametrize("score", [1.5, -0.1, float("nan"), "0.9", True, None])
def test_invalid_classifier_score_is_an_error(layered: PolicyFactory, score: Any) -> None:
    backends = Backends({"remote": ScriptedClassifier(score)}, ScriptedJudge(ALLOW_VERDICT))
    result = check(layered(fail_mode="closed"), text="hello", stage="input", backends=backends)
    assert result.decision is Decision.BLOCK
    assert result.errors[0].error_code == "invalid_score"


def test_policy_fail_mode_is_the_default_and_rule_overrides_it(layered: PolicyFactory) -> None:
    backends = Backends({"remote": ScriptedClassifier(RuntimeError("down"))}, ScriptedJudge(ALLOW_VERDICT))
    assert check(layered(fail_mode="closed"), text="x", stage="input", backends=backends).decision is Decision.BLOCK
    compiled = layered(fail_mode="closed", classifier_fail="open")
    assert check(compiled, text="x", stage="input", backends=backends).decision is Decision.ALLOW


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (RuntimeError("502 from provider"), "backend_error"),
        (GuardTimeout(), "timeout"),
        ("I think this is fine!", "invalid_verdict"),
        ({"verdict": "maybe", "score": 0.5, "reason": ""}, "invalid_verdict"),
        ({"verdict": "block", "score": 7, "reason": ""}, "invalid_verdict"),
        ({"verdict": "block", "reason": "no score"}, "invalid_verdict"),
        ({"verdict": "block", "score": 0.9, "reason": 42}, "invalid_verdict"),
        (["block", 0.9], "invalid_verdict"),
    ],
)
@pytest.mark.parametrize("fail_mode", ["open", "closed"])
def test_judge_errors(layered: PolicyFactory, answer: Any, code: str, fail_mode: str) -> None:
    backends = Backends({"remote": ScriptedClassifier(0.1)}, ScriptedJudge(answer))
    result = check(layered(judge_fail=fail_mode), text="hello", stage="input", backends=backends)
    assert result.decision is (Decision.BLOCK if fail_mode == "closed" else Decision.ALLOW)
    assert [(e.tier, e.error_code) for e in result.errors] == [(Tier.LLM_GUARD, code)]
    assert result.hits == ()


def test_parse_verdict_accepts_json_text() -> None:
    assert parse_verdict('```json\n{"verdict": "FLAG", "score": 0.6, "reason": "odd"}\n```') == ("flag", 0.6, "odd")
    with pytest.raises(InvalidVerdict):
        parse_verdict("{not json")


def test_missing_backends_are_errors(layered: PolicyFactory) -> None:
    result = check(layered(), text="hello", stage="input")
    assert [(e.tier, e.error_code) for e in result.errors] == [
        (Tier.CLASSIFIER, "backend_missing"),
        (Tier.LLM_GUARD, "backend_missing"),
    ]
    assert result.decision is Decision.ALLOW


def test_classifier_backend_chosen_by_name(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(make_rule("classifier", {"threshold": 0.5, "backend": "local", "label": "JAILBREAK"}))
    remote, local = ScriptedClassifier(0.0), ScriptedClassifier(0.7)
    result = check(compiled, text="x", stage="input", backends=Backends({"remote": remote, "local": local}))
    assert remote.calls == []
    assert local.calls == ["x"]
    assert result.hits[0].entity == "JAILBREAK"


def test_rule_exception_in_tier1_becomes_an_error(
    make_rule: RuleFactory, make_policy: PolicyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import guardrails.engine.detectors as detectors

    def broken(text: str, start: int, end: int) -> tuple[int, int] | None:
        raise ValueError("validator bug")

    rule = make_rule("pii", {"entities": {"email": True}}, fail_mode="closed")
    patched = tuple(dataclasses.replace(d, validator=broken) for d in detectors.PII_DETECTORS)
    monkeypatch.setattr(detectors, "PII_DETECTORS", patched)
    compiled = make_policy(rule)
    result = check(compiled, text="mail me: a@b.example", stage="output")
    assert result.decision is Decision.BLOCK
    assert [(e.error_code, e.tier) for e in result.errors] == [("rule_error", Tier.RULES)]
    assert "validator bug" in result.errors[0].message


def test_unknown_kind_and_bad_config_are_errors_not_crashes(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(
        make_rule("telepathy", {}, fail_mode="closed"),
        make_rule("regex", {"patterns": ["(?<=x)y"]}),
        make_rule("phrases", {"phrases": ["fine"]}),
    )
    assert len(compiled.compile_errors) == 2
    result = check(compiled, text="all fine here", stage="input")
    assert result.decision is Decision.BLOCK  # the unknown rule fails closed
    assert {e.error_code for e in result.errors} == {"invalid_config"}
    assert [h.entity for h in result.hits] == ["PHRASE"]  # the good rule still ran


def test_decision_precedence(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(
        make_rule("phrases", {"phrases": ["alpha"]}, action="log"),
        make_rule("phrases", {"phrases": ["beta"]}, action="flag"),
        make_rule("phrases", {"phrases": ["gamma"]}, action="redact"),
        make_rule("phrases", {"phrases": ["delta"]}, action="block"),
    )
    decisions = {
        "alpha": Decision.ALLOW,
        "alpha beta": Decision.FLAG,
        "beta gamma alpha": Decision.REDACT,
        "gamma delta beta": Decision.BLOCK,
    }
    for text, decision in decisions.items():
        assert check(compiled, text=text, stage="input").decision is decision


def test_stage_selects_rules(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(
        make_rule("phrases", {"phrases": ["in only"]}, stage="input"),
        make_rule("phrases", {"phrases": ["out only"]}, stage="output"),
    )
    assert check(compiled, text="in only", stage="input").blocked
    assert not check(compiled, text="in only", stage=Stage.OUTPUT).blocked
    assert check(compiled, text="out only", stage="output").blocked
    with pytest.raises(ValueError, match="one stage at a time"):
        check(compiled, text="x", stage="both")


def test_disabled_rules_do_not_run(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(make_rule("phrases", {"phrases": ["stop"]}, enabled=False))
    result = check(compiled, text="stop", stage="input")
    assert result.decision is Decision.ALLOW
    assert result.tiers_run == ()


# --- redaction --------------------------------------------------------------------------------


def test_redaction_offsets_on_unicode_text(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(make_rule("pii", {"entities": {"email": True, "phone": True}}, action="redact"))
    text = "Grüße 👋 — schreib an jürgen@example.com oder ruf +49 30 1234 5678 an."
    result = check(compiled, text=text, stage="output")
    assert result.text == "Grüße 👋 — schreib an [EMAIL] oder ruf [PHONE] an."
    for redaction in result.redactions:
        assert result.text[redaction.out_start : redaction.out_end] == redaction.placeholder
    assert [text[r.start : r.end] for r in result.redactions] == ["jürgen@example.com", "+49 30 1234 5678"]
    assert result.decision is Decision.REDACT


def test_overlapping_redactions_merge(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(
        make_rule("regex", {"patterns": [r"alpha beta"]}, action="redact", rule_id="r1"),
        make_rule("regex", {"patterns": [r"beta gamma"]}, action="redact", rule_id="r2"),
        make_rule("regex", {"patterns": [r"omega"], "entity": "LAST"}, action="redact", rule_id="r3"),
    )
    result = check(compiled, text="x alpha beta gamma y omega", stage="input")
    assert result.text == "x [REDACTED] y [LAST]"
    first, second = result.redactions
    assert (first.start, first.end, first.rule_ids) == (2, 18, ("r1", "r2"))
    assert (second.placeholder, second.rule_ids) == ("[LAST]", ("r3",))


def test_redaction_of_normalized_match_uses_original_span(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(make_rule("phrases", {"phrases": ["launch code"]}, action="redact"))
    text = "the ｌａｕｎｃｈ\u200b c0de is here"
    result = check(compiled, text=text, stage="output")
    assert result.text == "the [REDACTED] is here"


def test_tier2_sees_redacted_text(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(
        make_rule("secrets", {"detectors": {"aws_access_key": True}}, action="redact"),
        make_rule("classifier", {"threshold": 0.5}),
    )
    classifier = ScriptedClassifier(0.9)
    text = "key AKIAIOSFODNN7EXAMPLE please"
    result = check(compiled, text=text, stage="input", backends=Backends({"remote": classifier}))
    assert classifier.calls == ["key [AWS_ACCESS_KEY] please"]
    hit = result.hits[-1]
    assert (hit.tier, hit.start, hit.end) == (Tier.CLASSIFIER, 0, len(text))


# --- sizes and windows --------------------------------------------------------------------------


def test_text_too_large(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(make_rule("phrases", {"phrases": ["x"]}))
    with pytest.raises(TextTooLarge) as info:
        check(compiled, text="a" * (ABSOLUTE_MAX_CHARS + 1), stage="input")
    assert info.value.limit == ABSOLUTE_MAX_CHARS


def test_pattern_straddling_a_window_boundary_is_found_once(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(
        make_rule("phrases", {"phrases": ["forbidden phrase here"]}, action="redact"),
        make_rule("pii", {"entities": {"credit_card": True}}, action="redact"),
        max_text_chars=1024,
        window_overlap=128,
    )
    filler = "lorem ipsum dolor sit amet " * 200
    text = filler[:1000] + " forbidden phrase here " + filler[:2000] + " 4111 1111 1111 1111 " + filler[:500]
    result = check(compiled, text=text, stage="output")
    assert sorted(h.entity for h in result.hits) == ["CREDIT_CARD", "PHRASE"]
    assert "forbidden" not in result.text
    assert "4111" not in result.text
    for hit in result.hits:
        assert text[hit.start : hit.end] in ("forbidden phrase here", "4111 1111 1111 1111")


def test_every_window_reaches_the_classifier(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(make_rule("classifier", {"threshold": 0.5}), max_text_chars=1024, window_overlap=100)
    classifier = ScriptedClassifier(0.1, 0.1, 0.9, 0.1)
    text = ("word " * 1000)[:4000]
    result = check(compiled, text=text, stage="input", backends=Backends({"remote": classifier}))
    assert len(classifier.calls) == 3  # stops at the first window over the threshold
    assert all(len(chunk) <= 1024 for chunk in classifier.calls)
    hit = result.hits[0]
    assert hit.score == 0.9
    assert 0 < hit.start < hit.end <= len(text)


def test_window_boundaries_overlap() -> None:
    from guardrails.engine.engine import _windows

    text = "abcd " * 1000
    windows = _windows(text, 1024, 128)
    assert windows[0][0] == 0
    assert windows[-1][1] == len(text)
    for (start, end, owned), (next_start, _, _) in itertools.pairwise(windows):
        assert next_start == owned
        assert end - next_start >= 128
        assert end - start <= 1024


def test_set_failure_falls_back_to_one_by_one(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(
        make_rule("regex", {"patterns": ["needle"]}), make_rule("phrases", {"phrases": ["hay stack"]})
    )

    class OutOfMemorySet:
        def Match(self, data: bytes) -> None:
            return None  # what RE2 returns when its DFA runs out of memory

    for pattern_set in compiled.input.sets:
        pattern_set._set = OutOfMemorySet()
    result = check(compiled, text="a needle in a hay-stack", stage="input")
    assert sorted(h.entity for h in result.hits) == ["PATTERN", "PHRASE"]


def test_result_to_dict_is_json_ready(layered: PolicyFactory) -> None:
    import json

    result = check(layered(), text="open sesame", stage="input")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["decision"] == "block"
    assert data["tiers_run"] == ["rules"]
    assert data["hits"][0]["tier"] == "rules"
    assert set(data["latency_ms"]) == {"rules"}


def test_engine_bug_in_tier1_is_an_error_not_a_crash(
    make_rule: RuleFactory, make_policy: PolicyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import guardrails.engine.engine as engine

    def explode(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(engine, "_resolve", explode)
    compiled = make_policy(make_rule("phrases", {"phrases": ["boom"]}, fail_mode="closed"))
    result = check(compiled, text="boom", stage="input")
    assert result.decision is Decision.BLOCK
    assert [e.error_code for e in result.errors] == ["engine_error"]


def test_windows_on_unicode_text_keep_original_offsets(make_rule: RuleFactory, make_policy: PolicyFactory) -> None:
    compiled = make_policy(
        make_rule("phrases", {"phrases": ["launch code"]}, action="redact"),
        make_rule("pii", {"entities": {"email": True}}, action="redact"),
        max_text_chars=2048,
        window_overlap=256,
    )
    filler = "Grüße aus Zürich — “quoted” text ✓ 🙂 " * 40
    pieces = [filler, "the ｌａｕｎｃｈ c0de", filler, "mail jürgen@example.com", filler, "L A U N C H code", filler]
    text = " ".join(pieces)
    result = check(compiled, text=text, stage="output")
    matched = sorted(text[h.start : h.end] for h in result.hits)
    assert matched == ["L A U N C H code", "jürgen@example.com", "ｌａｕｎｃｈ c0de"]
    assert result.text.count("[REDACTED]") == 2
    assert "[EMAIL]" in result.text
