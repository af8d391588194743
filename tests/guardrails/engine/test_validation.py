from __future__ import annotations

import jsonschema
import pytest

from guardrails.engine import KINDS, preview_rule, rule_config_schema, validate_rule


@pytest.mark.parametrize("kind", KINDS.names())
def test_every_kind_has_a_valid_json_schema(kind: str) -> None:
    schema = rule_config_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["title"]


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("regex", {"patterns": [r"\bfoo\d+"], "case_sensitive": True}),
        ("phrases", {"phrases": ["{a|b} c"], "match": "substring"}),
        ("pii", {}),
        ("pii", {"entities": {"email": True}}),
        ("secrets", {"detectors": {"high_entropy": True}, "entropy_threshold": 4.5, "min_length": 30}),
        ("length", {"max_lines": 3}),
        ("canary", {"tokens": ["CANARY-1234"]}),
        ("prompt_leak", {"system_prompt": "You are a helpful bot for billing", "min_overlap_words": 5}),
        ("prompt_leak", {}),
        ("json_schema", {"schema": {"type": "object", "required": ["a"]}}),
        ("classifier", {"threshold": 0.7, "backend": "remote", "endpoint": "https://x", "label": "INJECTION"}),
        ("llm_guard", {"prompt": "Judge it", "threshold": 0.5, "provider": "openai", "model": "gpt"}),
    ],
)
def test_valid_configs(kind: str, config: dict[str, object]) -> None:
    assert validate_rule(kind, config) == []


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("nope", {}, "unknown rule kind 'nope'"),
        ("regex", {}, "config: 'patterns' is a required property"),
        ("regex", {"patterns": ["x"], "typo": 1}, "Additional properties are not allowed ('typo'"),
        ("regex", {"patterns": ["(?<=a)b"]}, "pattern 1 RE2 rejected it: invalid perl operator: (?<"),
        ("regex", {"patterns": ["ok", r"(a)\1"]}, "pattern 2 RE2 rejected it: invalid escape sequence: \\1"),
        ("regex", {"patterns": ["a{1000000}"]}, "repeat count {1000000} exceeds 1000"),
        ("regex", {"patterns": ["x" * 2001]}, "is 2001 characters long; the limit is 2000"),
        ("regex", {"patterns": ["a*"]}, "matches the empty string"),
        ("phrases", {"phrases": ["!!!"]}, "has no words that must match"),
        ("phrases", {"phrases": ["{a|}"]}, "has no words that must match"),
        ("pii", {"entities": {"email": False}}, "enable at least one entity"),
        ("pii", {"entities": {"passport": True}}, "Additional properties are not allowed"),
        ("length", {}, "set max_chars, max_lines or both"),
        ("length", {"max_chars": 0}, "max_chars: 0 is less than the minimum of 1"),
        ("canary", {"tokens": ["short"]}, "is too short"),
        ("prompt_leak", {"system_prompt": "be nice"}, "needs at least 3 words"),
        ("json_schema", {"schema": {"type": "banana"}}, "schema: not a valid JSON Schema"),
        ("json_schema", {"schema": {"$ref": "https://example.com/s.json"}}, "is not local"),
        ("classifier", {"threshold": 2}, "threshold: 2 is greater than the maximum of 1"),
        ("llm_guard", {"threshold": 0.5}, "'prompt' is a required property"),
    ],
)
def test_invalid_configs(kind: str, config: dict[str, object], message: str) -> None:
    errors = validate_rule(kind, config)
    assert any(message in e for e in errors), errors


def test_pattern_length_message() -> None:
    errors = validate_rule("regex", {"patterns": ["x" * 2001]})
    assert errors
    assert "2000" in errors[0]


def test_action_checks() -> None:
    assert validate_rule("classifier", {}, action="redact") == [
        "action: a classifier rule has no span to redact; use block or flag"
    ]
    assert validate_rule("pii", {}, action="redact") == []


def test_preview_rule() -> None:
    samples = ["mail bob@example.com now", "nothing here", "two: a@b.example and c@d.example"]
    matches = preview_rule("pii", {"entities": {"email": True}}, samples)
    assert [(m.sample_index, m.matched_text, m.entity) for m in matches] == [
        (0, "bob@example.com", "EMAIL"),
        (2, "a@b.example", "EMAIL"),
        (2, "c@d.example", "EMAIL"),
    ]
    phrase = preview_rule("phrases", {"phrases": ["launch code"]}, ["the L4unch c0de is 42"])
    assert phrase[0].matched_text == "L4unch c0de"


def test_preview_rule_refuses_invalid_config() -> None:
    with pytest.raises(ValueError, match="RE2 rejected it"):
        preview_rule("regex", {"patterns": ["(?=x)"]}, ["x"])


def test_preview_classifier_without_backend_reports_the_error() -> None:
    [match] = preview_rule("classifier", {}, ["text"])
    assert match.detail == "backend_missing"
    assert match.error


def test_validation_survives_a_form_library_writing_into_the_schema() -> None:
    # django-jsonform marks required properties with ``required: True`` in the dict it is given.
    schema = rule_config_schema("regex")
    schema["properties"]["patterns"]["required"] = True
    assert rule_config_schema("regex")["properties"]["patterns"].get("required") is None
    assert validate_rule("regex", {"patterns": ["ok"]}) == []


def test_phrase_list_too_large_for_one_scan() -> None:
    phrases = [
        f"{{{'|'.join(f'w{i}x{j}' for j in range(40))}}} {{{'|'.join(f'v{i}y{j}' for j in range(40))}}} tail{i}"
        for i in range(2000)
    ]
    errors = validate_rule("phrases", {"phrases": phrases})
    assert errors
    assert "split the rule" in errors[0]
