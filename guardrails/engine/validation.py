"""Checking a rule's config, shared by the admin form, the model's ``clean()`` and the API.

`validate_rule` looks the kind up in the registry, bounds the config's shape, validates it
against the kind's JSON Schema, then asks the kind for what a schema cannot say (RE2
accepts the regex, the JSON Schema in a ``json_schema`` rule is itself valid and bounded,
…). It returns human-readable messages, each starting with the config field it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from guardrails.engine.json_text import JsonLimits, json_shape
from guardrails.engine.kinds import KINDS
from guardrails.engine.types import Action

__all__ = ["CONFIG_LIMITS", "rule_config_schema", "validate_rule"]

# A rule's config is a small form; only a json_schema rule nests (its schema has tighter
# limits of its own). Checked before anything walks the config recursively.
CONFIG_LIMITS = JsonLimits(max_depth=100, max_nodes=50_000)


def rule_config_schema(kind: str) -> dict[str, Any]:
    """A fresh copy of the config schema for one kind (``{"type": "object"}`` if unknown),
    safe to hand to a form library that modifies it."""
    return KINDS.config_schema(kind)


def validate_rule(kind: str, config: Mapping[str, Any], *, action: Action | str | None = None) -> list[str]:
    """Human-readable problems with a rule's config (empty list: the rule is fine).

    With `action`, also refuses combinations that cannot work (redacting with a rule that
    has no span, like a classifier).
    """
    rule_kind = KINDS.get(kind)
    validator = KINDS.config_validator(kind)
    if rule_kind is None or validator is None:
        known = ", ".join(KINDS.names())
        return [f"unknown rule kind {kind!r}; expected one of: {known}"]
    if not isinstance(config, Mapping):
        return ["config: must be an object"]
    depth, nodes = json_shape(config, stop_after=CONFIG_LIMITS.max_nodes)
    if depth > CONFIG_LIMITS.max_depth:
        return [f"config: is nested {depth} levels deep; the limit is {CONFIG_LIMITS.max_depth}"]
    if nodes > CONFIG_LIMITS.max_nodes:
        return [f"config: has more than {CONFIG_LIMITS.max_nodes} values"]
    errors = _schema_errors(validator, config)
    if errors:
        return errors
    errors = rule_kind.validate(config)
    if action is not None and Action(action) is Action.REDACT and not rule_kind.has_span:
        errors.append(f"action: a {rule_kind.name} rule has no span to redact; use block or flag")
    return errors


def _schema_errors(validator: jsonschema.Draft202012Validator, config: Mapping[str, Any]) -> list[str]:
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
