"""Config schemas and checks for rules, shared by the admin form and the API.

`RULE_CONFIG_SCHEMAS` are plain JSON Schemas (objects, arrays of strings, numbers,
booleans, with ``title``/``help_text``) that django-jsonform can render; `validate_rule`
runs the schema plus what a schema cannot say (RE2 accepts the regex, the JSON Schema in a
``json_schema`` rule is itself valid, …) and returns human-readable messages.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema
import re2

from guardrails.engine.detectors import PII_KEYS, SECRET_KEYS
from guardrails.engine.normalize import skeleton
from guardrails.engine.phrases import phrase_pattern
from guardrails.engine.types import Action, RuleKind

if TYPE_CHECKING:
    from guardrails.engine.backends import Backends

__all__ = [
    "MAX_PATTERN_CHARS",
    "MAX_REPEAT",
    "RULE_CONFIG_SCHEMAS",
    "PreviewMatch",
    "preview_rule",
    "rule_config_schema",
    "validate_rule",
]

MAX_PATTERN_CHARS = 2000
MAX_REPEAT = 1000
MAX_PROGRAM_SIZE = 50_000
MAX_PHRASE_CHARS = 2000
MAX_PHRASES = 10_000
MAX_PHRASES_PROGRAM_SIZE = 100_000

_PLACEHOLDER = {
    "type": "string",
    "title": "Placeholder",
    "help_text": "Replaces the matched text when the rule's action is redact.",
    "maxLength": 100,
}


def _object(title: str, properties: dict[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def _switches(title: str, keys: Sequence[str], help_text: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "help_text": help_text,
        "properties": {k: {"type": "boolean", "title": k.replace("_", " "), "default": True} for k in keys},
        "additionalProperties": False,
    }


def _threshold(default: float, help_text: str) -> dict[str, Any]:
    return {
        "type": "number",
        "title": "Threshold",
        "help_text": help_text,
        "minimum": 0,
        "maximum": 1,
        "default": default,
    }


RULE_CONFIG_SCHEMAS: dict[str, dict[str, Any]] = {
    RuleKind.REGEX: _object(
        "Regular expressions",
        {
            "patterns": {
                "type": "array",
                "title": "Patterns",
                "help_text": "RE2 syntax (linear time: no look-around, no back-references). "
                "Matched against the original text.",
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN_CHARS},
                "minItems": 1,
                "maxItems": 500,
            },
            "case_sensitive": {"type": "boolean", "title": "Case sensitive", "default": False},
            "normalized": {
                "type": "boolean",
                "title": "Match the normalised text",
                "help_text": "Match against the folded text (lower case, accents, invisible "
                "characters and look-alike letters removed, spaced letters joined) instead "
                "of the original; redaction spans still point into the original.",
                "default": False,
            },
            "entity": {
                "type": "string",
                "title": "Entity",
                "help_text": "Label for hits, e.g. EMPLOYEE_ID; also the redaction placeholder.",
                "maxLength": 50,
            },
            "placeholder": _PLACEHOLDER,
        },
        ["patterns"],
    ),
    RuleKind.PHRASES: _object(
        "Phrases",
        {
            "phrases": {
                "type": "array",
                "title": "Phrases",
                "help_text": "Matched on the normalised text: case, accents, look-alike letters, "
                "leetspeak (1gn0re), spaced letters (i g n o r e) and punctuation between "
                "words do not matter.",
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_PHRASE_CHARS},
                "minItems": 1,
                "maxItems": MAX_PHRASES,
            },
            "match": {
                "type": "string",
                "title": "Match",
                "help_text": "word: whole words only; substring: anywhere.",
                "enum": ["word", "substring"],
                "default": "word",
            },
            "placeholder": _PLACEHOLDER,
        },
        ["phrases"],
    ),
    RuleKind.PII: _object(
        "Personal data",
        {
            "entities": _switches(
                "Entities",
                PII_KEYS,
                "Cards are checked with Luhn, IBANs with mod-97, SSNs with the SSA rules.",
            ),
            "placeholder": _PLACEHOLDER,
        },
    ),
    RuleKind.SECRETS: _object(
        "Secrets",
        {
            "detectors": _switches("Detectors", SECRET_KEYS, "high_entropy flags long random-looking tokens."),
            "entropy_threshold": {
                "type": "number",
                "title": "Entropy threshold",
                "help_text": "Shannon bits per character for high_entropy (hex tops out at 4).",
                "minimum": 1,
                "maximum": 8,
                "default": 4.0,
            },
            "min_length": {
                "type": "integer",
                "title": "Minimum token length",
                "minimum": 8,
                "maximum": 512,
                "default": 24,
            },
            "placeholder": {
                "type": "string",
                "title": "Placeholder",
                "help_text": "typed: [AWS_ACCESS_KEY], [GITHUB_TOKEN], …; generic: [SECRET].",
                "enum": ["typed", "generic"],
                "default": "typed",
            },
        },
    ),
    RuleKind.LENGTH: _object(
        "Length limit",
        {
            "max_chars": {"type": "integer", "title": "Maximum characters", "minimum": 1},
            "max_lines": {"type": "integer", "title": "Maximum lines", "minimum": 1},
            "placeholder": _PLACEHOLDER,
        },
    ),
    RuleKind.CANARY: _object(
        "Canary tokens",
        {
            "tokens": {
                "type": "array",
                "title": "Tokens",
                "help_text": "Planted in the system prompt; seeing one in an output means the "
                "prompt leaked. Tokens sent in the request context (canary_tokens) are "
                "checked too.",
                "items": {"type": "string", "minLength": 8, "maxLength": 200},
                "maxItems": 100,
            },
            "placeholder": _PLACEHOLDER,
        },
    ),
    RuleKind.PROMPT_LEAK: _object(
        "System prompt leak",
        {
            "system_prompt": {
                "type": "string",
                "title": "System prompt",
                "help_text": "Leave empty to use the system_prompt sent in the request context.",
                "widget": "textarea",
                "maxLength": 100_000,
            },
            "min_overlap_words": {
                "type": "integer",
                "title": "Minimum overlap (words)",
                "help_text": "This many consecutive words of the prompt in an output is a leak.",
                "minimum": 3,
                "maximum": 200,
                "default": 8,
            },
            "min_overlap_ratio": {
                "type": "number",
                "title": "Minimum overlap ratio",
                "help_text": "Optional: also require this share of the prompt to appear.",
                "minimum": 0,
                "maximum": 1,
            },
            "placeholder": _PLACEHOLDER,
        },
    ),
    RuleKind.JSON_SCHEMA: _object(
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
    ),
    RuleKind.CLASSIFIER: _object(
        "Classifier",
        {
            "threshold": _threshold(0.8, "Score at or above which the rule fires."),
            "backend": {"type": "string", "title": "Backend", "default": "remote"},
            "endpoint": {"type": "string", "title": "Endpoint", "maxLength": 2000},
            "label": {"type": "string", "title": "Label", "default": "INJECTION"},
        },
    ),
    RuleKind.LLM_GUARD: _object(
        "LLM guard",
        {
            "prompt": {
                "type": "string",
                "title": "Judge instructions",
                "widget": "textarea",
                "minLength": 1,
                "maxLength": 20_000,
            },
            "threshold": _threshold(0.5, "A block verdict below this score becomes a flag."),
            "provider": {"type": "string", "title": "Provider"},
            "model": {"type": "string", "title": "Model"},
        },
        ["prompt"],
    ),
}

# validate_rule uses its own copy: django-jsonform writes into the schema it is handed
# (``required: True`` on properties), and such a schema is no longer valid JSON Schema.
_PRISTINE_SCHEMAS: dict[str, dict[str, Any]] = copy.deepcopy(RULE_CONFIG_SCHEMAS)


def rule_config_schema(kind: str) -> dict[str, Any]:
    """A fresh copy of the config schema for one kind (``{"type": "object"}`` if unknown),
    safe to hand to a form library that modifies it."""
    return copy.deepcopy(_PRISTINE_SCHEMAS.get(kind, {"type": "object"}))


_REPEAT_RE = re.compile(r"(?<!\\)\{(\d+)(?:,(\d*))?\}")
_NO_SPAN_KINDS = frozenset({RuleKind.JSON_SCHEMA, RuleKind.CLASSIFIER, RuleKind.LLM_GUARD})


def _options(*, max_mem: int = 8 << 20) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = max_mem
    return options


def _re2_message(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def check_pattern(pattern: str) -> str | None:
    """Why RE2 would refuse (or we refuse) this pattern, or None."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"is {len(pattern)} characters long; the limit is {MAX_PATTERN_CHARS}"
    for match in _REPEAT_RE.finditer(pattern):
        counts = [int(g) for g in match.groups() if g]
        if counts and max(counts) > MAX_REPEAT:
            return f"repeat count {match.group()} exceeds {MAX_REPEAT}"
    try:
        compiled: Any = re2.compile(pattern, _options())
    except Exception as exc:
        return f"RE2 rejected it: {_re2_message(exc)}"
    if compiled.programsize > MAX_PROGRAM_SIZE:
        return f"is too complex (RE2 program size {compiled.programsize} > {MAX_PROGRAM_SIZE})"
    if compiled.search("") is not None:
        return "matches the empty string, so it would fire on every text"
    return None


def _schema_errors(kind: RuleKind, config: Mapping[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(_PRISTINE_SCHEMAS[kind])
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: [str(p) for p in e.absolute_path])
    return [_format_schema_error(error) for error in errors]


def _format_schema_error(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "config"
    if error.validator == "maxLength" and isinstance(error.instance, str):
        return f"{where}: is {len(error.instance)} characters long; the limit is {error.validator_value}"
    if error.validator == "minLength" and isinstance(error.instance, str):
        return f"{where}: is too short ({len(error.instance)} characters, at least {error.validator_value})"
    message = error.message
    return f"{where}: {message if len(message) <= 300 else message[:299] + '…'}"


def _kind_errors(kind: RuleKind, config: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    if kind is RuleKind.REGEX:
        for n, pattern in enumerate(config["patterns"], start=1):
            problem = check_pattern(pattern)
            if problem:
                errors.append(f"patterns.{n - 1}: pattern {n} {problem}")
    elif kind is RuleKind.PHRASES:
        word = config.get("match", "word") != "substring"
        patterns: list[str] = []
        for n, phrase in enumerate(config["phrases"]):
            pattern = phrase_pattern(phrase, word=word)
            if pattern is None:
                errors.append(f"phrases.{n}: {phrase!r} has no words that must match")
            else:
                patterns.append(pattern)
        if patterns and not errors:
            problem = _alternation_problem(patterns)
            if problem:
                errors.append(f"phrases: {problem}")
    elif kind is RuleKind.CANARY:
        for n, token in enumerate(config.get("tokens", ())):
            if sum(c.isalnum() for c in skeleton(token)) < 6:
                errors.append(f"tokens.{n}: a canary needs at least 6 letters or digits")
    elif kind is RuleKind.PII:
        if "entities" in config and not any(config["entities"].values()):
            errors.append("entities: enable at least one entity")
    elif kind is RuleKind.SECRETS:
        if "detectors" in config and not any(config["detectors"].values()):
            errors.append("detectors: enable at least one detector")
    elif kind is RuleKind.LENGTH:
        if config.get("max_chars") is None and config.get("max_lines") is None:
            errors.append("config: set max_chars, max_lines or both")
    elif kind is RuleKind.PROMPT_LEAK:
        prompt = config.get("system_prompt") or ""
        if prompt and len(re.findall(r"[^\W_]+", skeleton(prompt))) < 3:
            errors.append("system_prompt: needs at least 3 words to detect a leak")
    elif kind is RuleKind.JSON_SCHEMA:
        try:
            jsonschema.Draft202012Validator.check_schema(config["schema"])
        except jsonschema.SchemaError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            errors.append(f"schema: not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else ""))
        if '"$ref": "http' in _dumps(config["schema"]):
            errors.append("schema: remote $ref is not supported; inline the referenced schema")
    return errors


def _alternation_problem(patterns: Sequence[str]) -> str | None:
    """A rule's phrases run as one alternation: refuse a list too large for the scan."""
    try:
        compiled: Any = re2.compile("(?:" + "|".join(patterns) + ")", _options(max_mem=64 << 20))
    except Exception as exc:
        return f"together they are too large for one scan ({_re2_message(exc)}); split the rule"
    if compiled.programsize > MAX_PHRASES_PROGRAM_SIZE:
        return (
            f"together they are too complex (RE2 program size {compiled.programsize} > "
            f"{MAX_PHRASES_PROGRAM_SIZE}); split the rule or use fewer alternatives"
        )
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), default=str)


def validate_rule(kind: str, config: Mapping[str, Any], *, action: Action | str | None = None) -> list[str]:
    """Human-readable problems with a rule's config (empty list: the rule is fine).

    With `action`, also refuses combinations that cannot work (redacting with a rule that
    has no span, like a classifier).
    """
    try:
        rule_kind = RuleKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in RuleKind)
        return [f"unknown rule kind {kind!r}; expected one of: {known}"]
    if not isinstance(config, Mapping):
        return ["config: must be an object"]
    errors = _schema_errors(rule_kind, config)
    if errors:
        return errors
    errors = _kind_errors(rule_kind, config)
    if action is not None and Action(action) is Action.REDACT and rule_kind in _NO_SPAN_KINDS:
        errors.append(f"action: a {rule_kind.value} rule has no span to redact; use block or flag")
    return errors


@dataclass(frozen=True, slots=True)
class PreviewMatch:
    """What a rule matched in one sample (the admin shows `matched_text`)."""

    sample_index: int
    start: int
    end: int
    matched_text: str
    entity: str
    detail: str
    score: float | None = None
    error: str | None = None


def preview_rule(
    kind: str,
    config: Mapping[str, Any],
    samples: Sequence[str],
    *,
    backends: Backends | None = None,
) -> list[PreviewMatch]:
    """Run one rule over sample texts and list what it would have matched.

    Raises ValueError with the validation messages if the config is not valid. Tier-2/3
    rules need `backends`; without them each sample reports a ``backend_missing`` error.
    """
    from guardrails.engine.compiler import compile_policy
    from guardrails.engine.engine import check
    from guardrails.engine.types import FailMode, PolicySpec, RuleSpec, Severity, Stage

    problems = validate_rule(kind, config)
    if problems:
        raise ValueError("; ".join(problems))
    rule = RuleSpec(
        id="preview",
        name="preview",
        kind=kind,
        stage=Stage.BOTH,
        action=Action.FLAG,
        severity=Severity.LOW,
        config=config,
    )
    spec = PolicySpec(id="preview", slug="preview", version=0, fail_mode=FailMode.OPEN, rules=(rule,))
    compiled = compile_policy(spec, cache=False)
    matches: list[PreviewMatch] = []
    for index, sample in enumerate(samples):
        result = check(compiled, text=sample, stage=Stage.OUTPUT, backends=backends)
        for hit in result.hits:
            matches.append(
                PreviewMatch(
                    sample_index=index,
                    start=hit.start,
                    end=hit.end,
                    matched_text=sample[hit.start : hit.end],
                    entity=hit.entity,
                    detail=hit.detail,
                    score=hit.score,
                )
            )
        for error in result.errors:
            matches.append(
                PreviewMatch(
                    sample_index=index,
                    start=0,
                    end=0,
                    matched_text="",
                    entity="",
                    detail=error.error_code,
                    error=error.message,
                )
            )
    return matches
