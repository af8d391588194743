"""The bounded, RE2-backed JSON Schema validator, and the json_schema rule that runs on it.

Regression (issue 8, item 1): a json_schema rule with ``"pattern": "^(a+)+$"`` and an output
``{"a": "aaaa…a!"}`` froze a worker (Python's backtracking ``re``); a schema 150 levels deep
crashed validation with ``RecursionError``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from guardrails.engine import Decision, FailMode, PolicySpec, RuleSpec, check, compile_policy, validate_rule
from guardrails.engine.json_text import JsonTooComplex
from guardrails.engine.kinds import json_schema as json_schema_kind
from guardrails.engine.schema_validation import (
    SchemaLimits,
    SchemaRefused,
    ValidationTooCostly,
    compile_schema,
    schema_problems,
)

EVIL = {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}}}


def _policy(schema: Any, *, fail_mode: str = "open") -> Any:
    rule = RuleSpec(
        id=1,
        name="shape",
        kind="json_schema",
        stage="output",  # type: ignore[arg-type]
        action="block",  # type: ignore[arg-type]
        severity="high",  # type: ignore[arg-type]
        config={"schema": schema},
        fail_mode=fail_mode,  # type: ignore[arg-type]
    )
    return compile_policy(PolicySpec(id=1, slug="p", version=1, fail_mode=FailMode.OPEN, rules=(rule,)), cache=False)


def test_catastrophic_patterns_run_in_linear_time_in_a_subprocess() -> None:
    """In a child process with a deadline, so a regression fails instead of hanging the suite.
    With Python's re, 27 letters took 4 s and 32 never returned; RE2 takes microseconds."""
    script = textwrap.dedent(
        """
        import json
        from guardrails.engine import FailMode, PolicySpec, RuleSpec, check, compile_policy
        schema = {
            "type": "object",
            "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}},
            "patternProperties": {"^(b+)+$": {"type": "integer"}},
            "additionalProperties": False,
        }
        rule = RuleSpec(id=1, name="shape", kind="json_schema", stage="output", action="block",
                        severity="high", config={"schema": schema})
        compiled = compile_policy(PolicySpec(id=1, slug="p", version=1, fail_mode=FailMode.OPEN, rules=(rule,)))
        assert compiled.compile_errors == (), compiled.compile_errors
        for text in (json.dumps({"a": "a" * 5000 + "!"}), json.dumps({"b" * 5000 + "!": 1})):
            result = check(compiled, text=text, stage="output")
            print(result.decision.value, result.hits[0].detail)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == [
        'block does not conform to the schema at /a: pattern "^(a+)+$"',
        "block does not conform to the schema at /: additionalProperties false",
    ]


def test_patterns_are_re2_and_checked_at_save() -> None:
    assert schema_problems(EVIL) == []  # RE2 runs this one in linear time: nothing to refuse
    assert schema_problems({"pattern": "(?=x)"}) == ["/pattern: RE2 rejected it: invalid perl operator: (?="]
    assert schema_problems({"properties": {"a": {"pattern": "a{5000}"}}}) == [
        "/properties/a/pattern: repeat count {5000} exceeds 1000"
    ]
    [problem] = schema_problems({"patternProperties": {r"(a)\1": {}}})
    assert problem.startswith("/patternProperties: '(a)\\\\1' RE2 rejected it")
    # unevaluatedProperties would evaluate patternProperties with Python's re inside jsonschema
    assert (
        "unevaluatedProperties together with patternProperties"
        in schema_problems({"unevaluatedProperties": False, "patternProperties": {"^x": {}}})[0]
    )
    # enum/const values are data, not patterns
    assert schema_problems({"enum": [{"pattern": "(?=x)"}]}) == []


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"$ref": "https://example.com/s.json"}, "/$ref: 'https://example.com/s.json' is not local"),
        ({"properties": {"a": {"$ref": "other.json#/x"}}}, "/properties/a/$ref: 'other.json#/x' is not local"),
        ({"$ref": "#/$defs/missing"}, "/$ref: '#/$defs/missing' does not resolve inside the schema"),
        ({"$dynamicRef": "#meta"}, "/$dynamicRef: not supported"),
        ({"properties": {"a": {"$id": "https://x.example/a"}}}, "/properties/a: $id is only allowed at the root"),
        ({"$schema": "http://json-schema.org/draft-07/schema#"}, "only draft 2020-12 is supported"),
        ({"type": "banana"}, "not a valid JSON Schema at /type"),
        (
            {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"},
            "$ref loop that never descends into the document",
        ),
        ([1, 2], "must be a JSON object (or true/false), not list"),
    ],
)
def test_schemas_that_cannot_run_safely_are_refused_at_save(schema: Any, message: str) -> None:
    problems = schema_problems(schema)
    assert any(message in p for p in problems), problems
    with pytest.raises(SchemaRefused):
        compile_schema(schema)


def test_local_refs_anchors_and_recursive_schemas_are_fine() -> None:
    tree: dict[str, Any] = {
        "$defs": {"node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#node"}}}}},
        "$ref": "#/$defs/node",
    }
    tree["$defs"]["node"]["$anchor"] = "node"
    assert schema_problems(tree) == []
    doc: Any = {"kids": []}
    for _ in range(20):
        doc = {"kids": [doc]}
    assert compile_schema(tree).violations(doc) == []
    assert compile_schema(tree).violations({"kids": [{"kids": 3}]})[0].pointer == "/kids/0/kids"
    assert schema_problems(True) == []


def _nested_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def test_a_schema_150_levels_deep_is_a_clear_validation_error_not_a_recursion_error() -> None:
    deep = _nested_schema(150)
    assert validate_rule("json_schema", {"schema": deep}) == ["config: is nested 302 levels deep; the limit is 100"]
    assert schema_problems(deep) == ["is nested 301 levels deep; the limit is 64"]
    assert schema_problems(_nested_schema(30)) == []


def test_schema_size_is_bounded() -> None:
    wide = {"type": "object", "properties": {f"p{n}": {"type": "string"} for n in range(6000)}}
    assert schema_problems(wide) == ["has more than 10000 values; the limit is 10000"]


def test_documents_are_bounded_in_depth_and_size() -> None:
    schema = compile_schema({"type": "array"})
    deep: Any = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(JsonTooComplex, match="nested 100 levels deep; the limit is 64"):
        schema.violations(deep)
    with pytest.raises(JsonTooComplex, match="nested too deeply to parse"):
        schema.violations_of_json("[" * 200_000)
    with pytest.raises(JsonTooComplex, match="more than 200000 values"):
        schema.violations(list(range(200_001)))
    with pytest.raises(json.JSONDecodeError):
        schema.violations_of_json("[NaN]")  # not JSON


def _exponential_schema(levels: int) -> dict[str, Any]:
    """Each level tries two branches that both lead to the next: 2**levels evaluations."""
    defs: dict[str, Any] = {
        f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}, {"$ref": f"#/$defs/d{i + 1}"}]} for i in range(levels)
    }
    defs[f"d{levels}"] = {"type": "integer"}
    return {"$defs": defs, "$ref": "#/$defs/d0"}


def test_validation_work_is_bounded_by_a_step_budget() -> None:
    schema = _exponential_schema(40)
    assert schema_problems(schema) == []  # small and loop-free: only running it reveals the cost
    bounded = compile_schema(schema, SchemaLimits(max_steps=2_000))
    with pytest.raises(ValidationTooCostly, match="more than 2000 schema steps"):
        bounded.violations("not an integer")
    assert bounded.violations(7) == []  # the first branch succeeds at every level: cheap


def test_a_too_costly_schema_is_a_guard_error_under_the_rules_fail_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_schema_kind, "RULE_SCHEMA_LIMITS", SchemaLimits(max_steps=2_000))
    result = check(_policy(_exponential_schema(40), fail_mode="closed"), text='"x"', stage="output")
    assert result.decision is Decision.BLOCK
    assert [(e.error_code, e.fail_mode_applied) for e in result.errors] == [("validation_too_costly", FailMode.CLOSED)]
    assert result.hits == ()


def test_an_output_over_the_document_bounds_is_a_hit_not_a_crash() -> None:
    compiled = _policy({"type": "array"})
    for text in ("[" * 100 + "]" * 100, "[" * 200_000):
        result = check(compiled, text=text, stage="output")
        assert result.errors == ()
        assert result.decision is Decision.BLOCK
        assert "nested" in result.hits[0].detail


def test_unique_items_is_linear_and_follows_json_equality() -> None:
    schema = compile_schema({"type": "array", "uniqueItems": True})
    assert schema.violations([{"id": n, "tags": ["a", n]} for n in range(20_000)]) == []
    assert schema.violations([1, 1.0])[0].keyword == "uniqueItems"
    assert schema.violations([{"a": 1, "b": 2}, {"b": 2, "a": 1}])[0].keyword == "uniqueItems"
    assert schema.violations([1, True]) == []
    assert schema.violations([[1, [2]], [1, [2.0]]])[0].keyword == "uniqueItems"


def test_additional_properties_consults_pattern_properties_with_re2() -> None:
    schema = compile_schema(
        {"type": "object", "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}
    )
    assert schema.violations({"x-a": 1}) == []
    violations = schema.violations({"x-a": 1, "y": 2, "x-b": "s"})
    assert [(v.pointer, v.keyword) for v in violations] == [("", "additionalProperties"), ("/x-b", "type")]


def test_lone_surrogates_in_documents_do_not_break_patterns() -> None:
    schema = compile_schema({"type": "string", "pattern": "^a"})
    assert schema.violations("a\ud800") == []
    assert schema.violations("\ud800a")[0].keyword == "pattern"


def test_formats_are_annotations_unless_asserted_and_the_regex_format_is_re2() -> None:
    assert compile_schema({"format": "email"}).violations("nope") == []
    asserted = compile_schema({"format": "regex"}, assert_formats=True)
    assert asserted.violations("a+") == []
    assert asserted.violations("(?=x)")[0].keyword == "format"


def test_jsonschema_global_dialect_lookup_is_untouched() -> None:
    import jsonschema

    dialect = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    assert jsonschema.validators.validator_for(dialect) is jsonschema.Draft202012Validator
