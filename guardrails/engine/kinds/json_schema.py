"""``json_schema``: the output must parse as JSON and conform to a JSON Schema (draft 2020-12).

The schema runs on the bounded, RE2-backed validator (`guardrails.engine.schema_validation`):
patterns are RE2, the schema's size, depth and ``$ref``s are checked when the rule is saved,
and the output's depth, size and the validation work are bounded at check time. An output
over the document bounds is a hit (it is not output the rule accepts); a schema that would
take more than the work budget on an output is a guard error (``validation_too_costly``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guardrails.engine.json_text import JsonTooComplex, strip_code_fence
from guardrails.engine.kinds.base import Finding, RuleError, RuleKind, object_schema, register_kind
from guardrails.engine.schema_validation import (
    DEFAULT_SCHEMA_LIMITS,
    BoundedSchema,
    SchemaLimits,
    ValidationTooCostly,
    compile_schema,
    schema_problems,
)

# The bounds every json_schema rule runs with (read at compile time, so a test can lower them).
RULE_SCHEMA_LIMITS: SchemaLimits = DEFAULT_SCHEMA_LIMITS


@dataclass(frozen=True, slots=True)
class JsonSchemaConfig:
    schema: BoundedSchema
    strip_code_fence: bool


@register_kind
class JsonSchemaKind(RuleKind[JsonSchemaConfig]):
    name = "json_schema"
    label = "JSON Schema"
    has_span = False
    scans_text = True

    def config_schema(self) -> dict[str, Any]:
        return object_schema(
            "JSON output",
            {
                "schema": {
                    "type": "object",
                    "title": "JSON Schema",
                    "help_text": "Draft 2020-12. The output must parse as JSON and conform.",
                },
                "strip_code_fence": {
                    "type": "boolean",
                    "title": "Accept a ```json code fence around the output",
                    "default": False,
                },
            },
            ["schema"],
        )

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        return [f"schema: {problem}" for problem in schema_problems(config["schema"], RULE_SCHEMA_LIMITS)]

    def compile(self, config: Mapping[str, Any]) -> JsonSchemaConfig:
        return JsonSchemaConfig(
            schema=compile_schema(config["schema"], RULE_SCHEMA_LIMITS),
            strip_code_fence=bool(config.get("strip_code_fence", False)),
        )

    def scan_text(self, compiled: JsonSchemaConfig, text: str, context: Mapping[str, Any]) -> Iterable[Finding]:
        body = strip_code_fence(text) if compiled.strip_code_fence else text
        try:
            violations = compiled.schema.violations_of_json(body, limit=1)
        except json.JSONDecodeError as exc:
            detail = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            return [Finding(0, len(text), "JSON", detail, "[REDACTED]")]
        except JsonTooComplex as exc:
            return [Finding(0, len(text), "JSON", str(exc), "[REDACTED]")]
        except ValidationTooCostly as exc:
            raise RuleError("validation_too_costly", str(exc)) from exc
        if not violations:
            return []
        violation = violations[0]
        where = "/" + "/".join(str(p) for p in violation.path)
        # The schema keyword and its value come from the schema, never from the output.
        expected = json.dumps(violation.schema_value, default=str)[:200]
        detail = f"does not conform to the schema at {where}: {violation.keyword} {expected}"
        return [Finding(0, len(text), "JSON", detail, "[REDACTED]")]
