"""``json_schema``: the output must parse as JSON and conform to a JSON Schema (draft 2020-12)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from guardrails.engine.json_text import strip_code_fence
from guardrails.engine.kinds.base import Finding, RuleKind, object_schema, register_kind


@dataclass(frozen=True, slots=True)
class JsonSchemaConfig:
    validator: Any
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
        errors = []
        try:
            jsonschema.Draft202012Validator.check_schema(config["schema"])
        except jsonschema.SchemaError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            errors.append(f"schema: not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else ""))
        if '"$ref": "http' in json.dumps(config["schema"], separators=(", ", ": "), default=str):
            errors.append("schema: remote $ref is not supported; inline the referenced schema")
        return errors

    def compile(self, config: Mapping[str, Any]) -> JsonSchemaConfig:
        return JsonSchemaConfig(
            validator=jsonschema.Draft202012Validator(config["schema"]),
            strip_code_fence=bool(config.get("strip_code_fence", False)),
        )

    def scan_text(self, compiled: JsonSchemaConfig, text: str, context: Mapping[str, Any]) -> Iterable[Finding]:
        body = strip_code_fence(text) if compiled.strip_code_fence else text
        try:
            document = json.loads(body)
        except json.JSONDecodeError as exc:
            detail = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            return [Finding(0, len(text), "JSON", detail, "[REDACTED]")]
        error = next(iter(sorted(compiled.validator.iter_errors(document), key=_error_order)), None)
        if error is None:
            return []
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        # The schema keyword and its value come from the schema, never from the output.
        expected = json.dumps(error.validator_value, default=str)[:200]
        detail = f"does not conform to the schema at {where}: {error.validator} {expected}"
        return [Finding(0, len(text), "JSON", detail, "[REDACTED]")]


def _error_order(error: Any) -> tuple[int, list[str]]:
    return len(error.absolute_path), [str(p) for p in error.absolute_path]
