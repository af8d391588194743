"""A bounded, RE2-backed JSON Schema (draft 2020-12) validator for schemas that people configure.

Use it wherever a schema comes from configuration rather than from code: the guard's
``json_schema`` rule, pipelines' output schemas, eval scorers. Plain Python, built on the
``jsonschema`` library, with what a schema typed into an admin form needs on top:

Regular expressions run on RE2
    ``pattern``, ``patternProperties`` (also where ``additionalProperties`` consults it) and,
    when formats are asserted, the ``regex`` format. RE2 runs in time linear in the text:
    ``"^(a+)+$"`` against ``"aaaa…a!"`` costs microseconds, not forever. Patterns pass the same
    checks as every other user pattern (`re2_patterns.check_pattern`; empty matches allowed).
    ``unevaluatedProperties`` together with ``patternProperties`` is refused: jsonschema
    evaluates that combination with Python's ``re`` internally.

Bounded schemas (checked by `schema_problems`, before anything recurses into the schema)
    nesting depth, node count, only local ``$ref`` (``#/…`` pointers and ``#anchor``s that
    resolve inside the schema; no remote fetches, no ``$dynamicRef``), ``$id`` only at the
    root, ``$schema`` absent or draft 2020-12, and no ``$ref`` loop that never descends into
    the document (which would recurse forever on any input).

Bounded documents and work (at validation)
    the document's depth and node count (`SchemaLimits`), and a budget of keyword
    evaluations per validation, so a schema whose combinators multiply the work
    (nested ``anyOf`` over ``$ref``s, ``unevaluatedProperties`` over deep ``allOf``) fails
    with `ValidationTooCostly` instead of holding a worker. ``uniqueItems`` runs in linear
    time (jsonschema's falls back to comparing every pair).

Usage::

    problems = schema_problems(schema)           # at save: [] or messages for people
    bounded = compile_schema(schema)             # SchemaRefused if there are problems
    violations = bounded.violations(document)    # [] when the document conforms
    violations = bounded.violations_of_json(text)  # parse with the same bounds first

Formats are annotations (the 2020-12 default) unless ``assert_formats=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema
import re2
import referencing
import referencing.exceptions
import referencing.jsonschema
from jsonschema import validators
from jsonschema.exceptions import ValidationError

from guardrails.engine.json_text import JsonLimits, JsonTooComplex, check_json_shape, json_shape, load_json
from guardrails.engine.re2_patterns import PATTERN_MAX_MEM, check_pattern, compile_pattern, re2_options

__all__ = [
    "DEFAULT_SCHEMA_LIMITS",
    "BoundedSchema",
    "JsonTooComplex",
    "SchemaLimits",
    "SchemaRefused",
    "SchemaViolation",
    "ValidationTooCostly",
    "compile_schema",
    "schema_problems",
]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_BASE_URI = "urn:arbiter:schema"


@dataclass(frozen=True, slots=True)
class SchemaLimits:
    """Bounds on a configured schema, the documents it checks, and the work per check."""

    max_schema_depth: int = 64  # JSON nesting: about 32 levels of nested subschemas
    max_schema_nodes: int = 10_000
    max_document_depth: int = 64
    max_document_nodes: int = 200_000
    max_steps: int = 50_000  # keyword evaluations per validation (a few µs to ~40 µs each)

    @property
    def document_limits(self) -> JsonLimits:
        return JsonLimits(max_depth=self.max_document_depth, max_nodes=self.max_document_nodes)


DEFAULT_SCHEMA_LIMITS = SchemaLimits()


class SchemaRefused(ValueError):
    """The schema is not one this validator runs (see `problems`)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ValidationTooCostly(ValueError):
    """Validating this document against this schema needs more work than the limits allow."""


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One way a document breaks the schema.

    `keyword` and `schema_value` come from the schema; `message` is jsonschema's and may quote
    the document (do not store it where the document must not appear).
    """

    path: tuple[str | int, ...]  # where in the document
    keyword: str
    schema_value: Any
    message: str

    @property
    def pointer(self) -> str:
        """The document location as a JSON pointer (RFC 6901)."""
        return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in self.path)


# --- schema walking ---------------------------------------------------------------------------

# Keywords whose value is a subschema / a map of subschemas / a list of subschemas, split by
# whether they apply to the same document location ("in place") or descend into it.
_IN_PLACE_ONE: tuple[str, ...] = ("not", "if", "then", "else")
_IN_PLACE_LIST: tuple[str, ...] = ("allOf", "anyOf", "oneOf")
_IN_PLACE_MAP: tuple[str, ...] = ("dependentSchemas",)
_CHILD_ONE: tuple[str, ...] = (
    "additionalProperties",
    "unevaluatedProperties",
    "items",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "additionalItems",
)
_CHILD_LIST: tuple[str, ...] = ("prefixItems",)
_CHILD_MAP: tuple[str, ...] = ("properties", "patternProperties")
_DEFINITIONS: tuple[str, ...] = ("$defs", "definitions")


@dataclass(slots=True)
class _SubSchema:
    node: dict[str, Any]
    where: str  # JSON pointer inside the schema, for messages


def _subschemas(schema: dict[str, Any], where: str) -> Iterator[tuple[_SubSchema, bool]]:
    """Direct subschemas of `schema`, each with True when it applies in place."""

    def sub(value: Any, path: str, in_place: bool) -> Iterator[tuple[_SubSchema, bool]]:
        if isinstance(value, dict):
            yield _SubSchema(value, path), in_place

    for key in _IN_PLACE_ONE:
        if key in schema:
            yield from sub(schema[key], f"{where}/{key}", True)
    for key in _CHILD_ONE:
        if key in schema:
            yield from sub(schema[key], f"{where}/{key}", False)
    for keys, in_place in ((_IN_PLACE_LIST, True), (_CHILD_LIST, False)):
        for key in keys:
            if isinstance(schema.get(key), list):
                for n, item in enumerate(schema[key]):
                    yield from sub(item, f"{where}/{key}/{n}", in_place)
    for keys, in_place in ((_IN_PLACE_MAP, True), (_CHILD_MAP, False), (_DEFINITIONS, False)):
        for key in keys:
            if isinstance(schema.get(key), dict):
                for name, item in schema[key].items():
                    yield from sub(item, f"{where}/{key}/{_escape(str(name))}", in_place)


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _walk(schema: dict[str, Any]) -> list[_SubSchema]:
    """Every subschema (objects only; boolean schemas need no checks), root first."""
    found = [_SubSchema(schema, "")]
    stack = [found[0]]
    while stack:
        current = stack.pop()
        for child, _in_place in _subschemas(current.node, current.where):
            found.append(child)
            stack.append(child)
    return found


# --- save-time checks --------------------------------------------------------------------------


def schema_problems(schema: Any, limits: SchemaLimits = DEFAULT_SCHEMA_LIMITS) -> list[str]:
    """Why this schema cannot be used (messages for people, each naming where), or ``[]``."""
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, dict):
        return [f"must be a JSON object (or true/false), not {type(schema).__name__}"]
    depth, nodes = json_shape(schema, stop_after=limits.max_schema_nodes)
    if depth > limits.max_schema_depth:
        return [f"is nested {depth} levels deep; the limit is {limits.max_schema_depth}"]
    if nodes > limits.max_schema_nodes:
        return [f"has more than {limits.max_schema_nodes} values; the limit is {limits.max_schema_nodes}"]
    dialect = schema.get("$schema")
    if dialect is not None and str(dialect).rstrip("#") != DRAFT_2020_12:
        return [f"$schema: only draft 2020-12 is supported ({DRAFT_2020_12}); remove $schema or use that"]
    subschemas = _walk(schema)
    problems: list[str] = []
    uses_pattern_properties = False
    uses_unevaluated_properties = False
    for sub in subschemas:
        node, where = sub.node, sub.where
        if "$id" in node and where:
            problems.append(f"{where}: $id is only allowed at the root of the schema")
        for keyword in ("$dynamicRef", "$recursiveRef"):
            if keyword in node:
                problems.append(f"{where}/{keyword}: not supported; use $ref to a local definition")
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            problems.append(f"{where}/$ref: {_shorten(ref)!r} is not local; inline the referenced schema")
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            problem = check_pattern(pattern, allow_empty_match=True)
            if problem:
                problems.append(f"{where}/pattern: {problem}")
        if isinstance(node.get("patternProperties"), dict):
            uses_pattern_properties = True
            for key in node["patternProperties"]:
                problem = check_pattern(key, allow_empty_match=True)
                if problem:
                    problems.append(f"{where}/patternProperties: {_shorten(key)!r} {problem}")
        if "unevaluatedProperties" in node:
            uses_unevaluated_properties = True
    if uses_pattern_properties and uses_unevaluated_properties:
        problems.append(
            "unevaluatedProperties together with patternProperties is not supported "
            "(it would run the patterns outside RE2); use additionalProperties"
        )
    if problems:
        return problems
    try:
        jsonschema.Draft202012Validator.check_schema(schema, format_checker=_META_FORMATS)
    except jsonschema.SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.absolute_path)
        return [f"not a valid JSON Schema at {where}: {_shorten(exc.message)}"]
    except RecursionError:
        return ["is nested too deeply to check"]
    return _ref_problems(schema, subschemas)


def _ref_problems(schema: dict[str, Any], subschemas: list[_SubSchema]) -> list[str]:
    """Every local $ref resolves, and no chain of in-place applicators and $refs loops back
    on itself (such a loop recurses forever without ever descending into the document)."""
    resolver = _resolver(schema)
    by_id = {id(sub.node): sub for sub in subschemas}
    in_place: dict[int, list[int]] = {}
    problems: list[str] = []
    for sub in subschemas:
        successors = [
            id(child.node) for child, applies_in_place in _subschemas(sub.node, sub.where) if applies_in_place
        ]
        ref = sub.node.get("$ref")
        if isinstance(ref, str):
            try:
                target = resolver.lookup(ref).contents
            except referencing.exceptions.Unresolvable:
                problems.append(f"{sub.where}/$ref: {_shorten(ref)!r} does not resolve inside the schema")
                continue
            if isinstance(target, dict):
                if id(target) not in by_id:
                    problems.append(f"{sub.where}/$ref: {_shorten(ref)!r} does not point at a subschema")
                    continue
                successors.append(id(target))
        in_place[id(sub.node)] = successors
    if problems:
        return problems
    loop = _find_cycle(in_place)
    if loop is not None:
        where = by_id[loop].where or "/"
        return [f"{where}: $ref loop that never descends into the document (it would recurse forever)"]
    return []


def _find_cycle(graph: dict[int, list[int]]) -> int | None:
    """A node on a cycle of `graph`, or None (iterative depth-first search)."""
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for root in graph:
        if root in state:
            continue
        stack: list[tuple[int, Iterator[int]]] = [(root, iter(graph.get(root, ())))]
        state[root] = 1
        while stack:
            node, successors = stack[-1]
            advanced = False
            for nxt in successors:
                mark = state.get(nxt)
                if mark == 1:
                    return nxt
                if mark is None:
                    state[nxt] = 1
                    stack.append((nxt, iter(graph.get(nxt, ()))))
                    advanced = True
                    break
            if not advanced:
                state[node] = 2
                stack.pop()
    return None


def _resolver(schema: dict[str, Any]) -> Any:
    resource = referencing.jsonschema.DRAFT202012.create_resource(schema)
    base = resource.id() or _BASE_URI
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(base, resource)
    return registry.resolver(base_uri=base)


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- RE2-backed keywords, counted -----------------------------------------------------------


@dataclass(slots=True)
class _Budget:
    left: int
    limit: int

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise ValidationTooCostly(
                f"validating this document takes more than {self.limit} schema steps; simplify the schema"
            )


_BUDGET: ContextVar[_Budget | None] = ContextVar("schema_validation_budget", default=None)


class _Re2Search:
    """ "Does this pattern match anywhere in the text?" on RE2.

    A one-pattern ``re2.Set`` answers that in one C call (the ``re2.compile(...).search``
    wrapper costs several µs per call in Python). Index 0 is a sentinel that matches every
    text, so a DFA that ran out of memory (the set then reports nothing) is noticed and the
    question goes to the regex instead of being answered "no match".
    """

    __slots__ = ("regex", "set")

    def __init__(self, pattern: str) -> None:
        self.regex: Any = compile_pattern(pattern, max_mem=PATTERN_MAX_MEM)
        self.set: Any = re2.Set.SearchSet(re2_options(max_mem=PATTERN_MAX_MEM))
        self.set.Add(r"\z")
        self.set.Add(pattern)
        self.set.Compile()

    def found_in(self, text: str) -> bool:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (legal in a JSON string escape)
            text = text.encode("utf-8", "replace").decode("utf-8")
            data = text.encode("utf-8")
        found = self.set.Match(data)
        if not found or 0 not in found:
            return self.regex.search(text) is not None
        return 1 in found


@lru_cache(maxsize=4096)
def _re2_search(pattern: str) -> _Re2Search:
    return _Re2Search(pattern)


def _search(pattern: str, text: str) -> bool:
    return _re2_search(pattern).found_in(text)


def _pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(patrn, instance):
        yield ValidationError(f"{_shorten(repr(instance))} does not match {patrn!r}")


def _pattern_properties(validator: Any, pattern_properties: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, ap: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [
        key for key in instance if key not in properties and not any(_search(pattern, key) for pattern in patterns)
    ]
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif not ap and extras:
        shown = ", ".join(repr(e) for e in sorted(extras)[:20])
        if patterns:
            yield ValidationError(f"{shown} do(es) not match any of the regexes: {', '.join(map(repr, patterns))}")
        else:
            yield ValidationError(f"Additional properties are not allowed ({shown} unexpected)")


def _hashable(value: Any) -> Any:
    """A hashable stand-in, equal exactly when the JSON values are equal: 1 and 1.0 are equal
    (Python agrees), true and 1 are not, object keys in any order (recursion is bounded by
    the document depth limit)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, list):
        return ("array", tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _hashable(v)) for k, v in value.items()))
    return ("scalar", value)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for item in instance:
        key = _hashable(item)
        if key in seen:
            yield ValidationError("has non-unique elements")
            return
        seen.add(key)


def _counted(keyword: Callable[..., Any]) -> Callable[..., Any]:
    current_budget = _BUDGET.get

    def counted(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        budget = current_budget()
        if budget is not None:
            budget.spend()
        return keyword(validator, value, instance, schema)

    return counted


_OVERRIDES: dict[str, Callable[..., Any]] = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
}
_KEYWORDS: dict[str, Callable[..., Any]] = {
    name: _counted(_OVERRIDES.get(name) or keyword)
    for name, keyword in jsonschema.Draft202012Validator.VALIDATORS.items()
}
# `extend` (not `create` with a version) so jsonschema's global "validator for this
# meta-schema" lookup keeps returning its own class.
BoundedDraft202012Validator: Any = validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, validators=_KEYWORDS
)
# No retrieval: only local $refs pass schema_problems, and nothing is ever fetched.
_NO_REMOTE_REGISTRY: referencing.Registry[Any] = referencing.Registry()


def _re2_regex_format(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    return check_pattern(instance, allow_empty_match=True) is None


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=list(jsonschema.FormatChecker.checkers))
    checker.checks("regex")(_re2_regex_format)
    return checker


_META_FORMATS = _format_checker()
_ASSERTED_FORMATS = _format_checker()


# --- compiled schemas ------------------------------------------------------------------------------


class BoundedSchema:
    """A schema that passed `schema_problems`, ready to validate documents within its limits."""

    def __init__(self, schema: Any, limits: SchemaLimits, *, assert_formats: bool = False) -> None:
        self.schema = schema
        self.limits = limits
        self._validator = BoundedDraft202012Validator(
            schema, format_checker=_ASSERTED_FORMATS if assert_formats else None, registry=_NO_REMOTE_REGISTRY
        )

    def violations(self, document: Any, *, limit: int = 100) -> list[SchemaViolation]:
        """How `document` breaks the schema (``[]``: it conforms), shallowest first, at most `limit`.

        Raises `JsonTooComplex` for a document over the depth/size limits and
        `ValidationTooCostly` when validation would take more than ``max_steps``.
        """
        check_json_shape(document, self.limits.document_limits, what="the document")
        return self._violations(document, limit)

    def violations_of_json(self, text: str | bytes, *, limit: int = 100) -> list[SchemaViolation]:
        """Parse `text` within the document limits, then `violations`. Raises
        ``json.JSONDecodeError`` for text that is not JSON, `JsonTooComplex`, `ValidationTooCostly`."""
        return self._violations(load_json(text, self.limits.document_limits, what="the document"), limit)

    def is_valid(self, document: Any) -> bool:
        return not self.violations(document, limit=1)

    def _violations(self, document: Any, limit: int) -> list[SchemaViolation]:
        token = _BUDGET.set(_Budget(self.limits.max_steps, self.limits.max_steps))
        try:
            errors = list(self._validator.iter_errors(document))
        except RecursionError:
            raise ValidationTooCostly("the schema recurses too deeply for this document") from None
        finally:
            _BUDGET.reset(token)
        errors.sort(key=_error_order)
        return [
            SchemaViolation(
                path=tuple(error.absolute_path),
                keyword=str(error.validator),
                schema_value=error.validator_value,
                message=_shorten(error.message, 300),
            )
            for error in errors[:limit]
        ]


def _error_order(error: ValidationError) -> tuple[int, list[str]]:
    return len(error.absolute_path), [str(p) for p in error.absolute_path]


def compile_schema(
    schema: Any, limits: SchemaLimits = DEFAULT_SCHEMA_LIMITS, *, assert_formats: bool = False
) -> BoundedSchema:
    """A `BoundedSchema`, or `SchemaRefused` listing the problems `schema_problems` found."""
    problems = schema_problems(schema, limits)
    if problems:
        raise SchemaRefused(problems)
    return BoundedSchema(schema, limits, assert_formats=assert_formats)
