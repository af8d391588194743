"""What a guard rule kind is, and the registry of kinds.

A kind is one module under ``guardrails/engine/kinds/`` with one `RuleKind` subclass that
declares its name, label, tier and config JSON Schema, validates a config beyond what the
schema can say, compiles a valid config into a typed frozen dataclass, and scans with it.
The compiler, the engine and validation loop over `KINDS`; none of them names a kind.

How a kind scans depends on its tier:

tier 1 (rules), any combination of
    `RuleKind.patterns` RE2 patterns merged into the policy's one multi-pattern scan per text
        view (original, skeleton, folded); a match becomes a hit, described by
        `RuleKind.describe_match` when the pattern has no fixed detail.
    `RuleKind.scan_window` (``scans_windows = True``) Python over each window's normalised text.
    `RuleKind.scan_text` (``scans_text = True``) Python over the whole text at once.
tiers 2 and 3 (classifier, LLM guard)
    `RuleKind.assess` scores the text (after tier-1 redaction) in windows through a backend the
    caller injected, yielding an `Assessment` per window that fires.

A kind signals "I could not answer" by raising `RuleError` with a stable code; any other
exception is caught by the engine and recorded as a guard error too (fail mode applied).
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import jsonschema

from guardrails.engine.detectors import Validator
from guardrails.engine.types import Action, RuleSpec, Tier

if TYPE_CHECKING:
    from guardrails.engine.backends import Backends
    from guardrails.engine.normalize import NormalizedText

__all__ = [
    "KINDS",
    "PLACEHOLDER_SCHEMA",
    "Assessment",
    "Finding",
    "KindRegistry",
    "ModelWindow",
    "PatternUse",
    "RuleError",
    "RuleKind",
    "View",
    "configured_placeholder",
    "object_schema",
    "register_kind",
    "switches_schema",
    "threshold_schema",
]

ConfigT = TypeVar("ConfigT")


class View:
    """The text views a tier-1 pattern can be matched against (see `guardrails.engine.normalize`)."""

    RAW = "raw"  # the original text
    SKELETON = "skeleton"  # folded, leetspeak undone, 1/l/I merged, spaced letters joined
    FOLDED = "folded"  # case, accents, invisible characters and look-alikes folded

    ALL: tuple[str, ...] = (RAW, SKELETON, FOLDED)  # also the scan order


@dataclass(frozen=True, slots=True)
class PatternUse:
    """One RE2 pattern a tier-1 rule wants scanned, and what a match of it means."""

    view: str
    pattern: str
    entity: str
    placeholder: str
    label: str  # which part of the rule matched ("pattern 2", "email", …)
    detail: str | None = None  # the hit's detail; None: `RuleKind.describe_match` says it
    validator: Validator | None = None  # confirms (or trims) a candidate span on the original text
    priority: int = 1  # where one rule's matches overlap, only the highest priority is kept


@dataclass(frozen=True, slots=True)
class Finding:
    """A tier-1 match from a kind's own Python scan. Offsets: see the method that returns it.
    `detail` must not contain the matched text (hits are stored in envelopes)."""

    start: int
    end: int
    entity: str
    detail: str
    placeholder: str
    priority: int = 1


@dataclass(frozen=True, slots=True)
class ModelWindow:
    """A window of the text a tier-2/3 rule scores, with its offsets in the original text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Assessment:
    """A tier-2/3 rule firing on one window. `action` None means the rule's own action."""

    start: int
    end: int
    entity: str
    score: float
    detail: str
    action: Action | None = None


class RuleError(Exception):
    """A rule could not give an answer. `code` is the guard error's stable code
    (``backend_missing``, ``invalid_score``, ``invalid_verdict``, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RuleKind(Generic[ConfigT]):
    """Base class of every guard rule kind; subclass it in one module and register an instance.

    `compile` receives a config that already passed `config_schema` and `validate`, and
    returns the kind's frozen config dataclass (`ConfigT`); every scan method receives that
    dataclass back as `compiled`.
    """

    name: ClassVar[str]  # stored in GuardRule.kind: lower case, digits, underscores
    label: ClassVar[str]  # for people: the admin's kind menu
    tier: ClassVar[Tier] = Tier.RULES
    has_span: ClassVar[bool] = True  # False: its hits cover no text span, so it cannot redact
    scans_windows: ClassVar[bool] = False
    scans_text: ClassVar[bool] = False

    def config_schema(self) -> dict[str, Any]:
        """The JSON Schema of the rule's config (a plain one django-jsonform can render)."""
        raise NotImplementedError

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        """Problems the schema cannot express (RE2 refuses a pattern, …), as ``"field: message"``."""
        return []

    def compile(self, config: Mapping[str, Any]) -> ConfigT:
        raise NotImplementedError

    # --- tier 1 ---------------------------------------------------------------------------

    def patterns(self, compiled: ConfigT) -> Iterable[PatternUse]:
        return ()

    def describe_match(self, compiled: ConfigT, use: PatternUse, matched: str) -> str:
        """The hit detail for a match of a pattern without a fixed detail. `matched` is the
        text of the match in the pattern's view (normalised for skeleton and folded views)."""
        return use.label

    def scan_window(self, compiled: ConfigT, text: NormalizedText, context: Mapping[str, Any]) -> Iterable[Finding]:
        """Findings in one window, with offsets into ``text.skeleton``."""
        return ()

    def scan_text(self, compiled: ConfigT, text: str, context: Mapping[str, Any]) -> Iterable[Finding]:
        """Findings in the whole text, with offsets into `text`."""
        return ()

    # --- tiers 2 and 3 ----------------------------------------------------------------------

    def assess(
        self,
        compiled: ConfigT,
        rule: RuleSpec,
        windows: Sequence[ModelWindow],
        backends: Backends | None,
    ) -> Iterator[Assessment]:
        """Yield an `Assessment` per window that fires; the engine stops pulling once the
        check is blocked (so a judge is not asked about the rest of a blocked text)."""
        return iter(())


# --- config schema building blocks --------------------------------------------------------

PLACEHOLDER_SCHEMA: Mapping[str, Any] = {
    "type": "string",
    "title": "Placeholder",
    "help_text": "Replaces the matched text when the rule's action is redact.",
    "maxLength": 100,
}


def object_schema(title: str, properties: dict[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def switches_schema(title: str, keys: Sequence[str], help_text: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "help_text": help_text,
        "properties": {k: {"type": "boolean", "title": k.replace("_", " "), "default": True} for k in keys},
        "additionalProperties": False,
    }


def threshold_schema(default: float, help_text: str) -> dict[str, Any]:
    return {
        "type": "number",
        "title": "Threshold",
        "help_text": help_text,
        "minimum": 0,
        "maximum": 1,
        "default": default,
    }


def configured_placeholder(config: Mapping[str, Any], default: str) -> str:
    value = config.get("placeholder")
    return value if isinstance(value, str) and value else default


# --- the registry ---------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
KindT = TypeVar("KindT", bound="RuleKind[Any] | type[RuleKind[Any]]")


class KindRegistry:
    """The rule kinds this process knows, by name.

    Registering validates the kind's declaration (name, tier, a config schema that is itself
    valid JSON Schema) and keeps a pristine copy of its schema: django-jsonform annotates
    the schema dict it is handed, so callers always get a fresh copy (`config_schema`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Replaced, never mutated, so readers need no lock.
        self._kinds: dict[str, RuleKind[Any]] = {}
        self._schemas: dict[str, dict[str, Any]] = {}
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}

    def register(self, kind: RuleKind[Any]) -> RuleKind[Any]:
        name = getattr(kind, "name", "")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"rule kind name {name!r}: use 1-32 lower-case letters, digits or underscores")
        if not isinstance(getattr(kind, "label", None), str) or not kind.label:
            raise ValueError(f"rule kind {name!r} needs a label")
        if not isinstance(kind.tier, Tier):
            raise ValueError(f"rule kind {name!r}: tier must be a Tier")
        schema = copy.deepcopy(kind.config_schema())
        jsonschema.Draft202012Validator.check_schema(schema)
        with self._lock:
            existing = self._kinds.get(name)
            if existing is not None and type(existing) is not type(kind):
                raise ValueError(f"rule kind {name!r} is already registered by {type(existing).__qualname__}")
            self._kinds = {**self._kinds, name: kind}
            self._schemas = {**self._schemas, name: schema}
            self._validators = {**self._validators, name: jsonschema.Draft202012Validator(schema)}
        return kind

    def unregister(self, name: str) -> None:
        with self._lock:
            self._kinds = {k: v for k, v in self._kinds.items() if k != name}
            self._schemas = {k: v for k, v in self._schemas.items() if k != name}
            self._validators = {k: v for k, v in self._validators.items() if k != name}

    def get(self, name: str) -> RuleKind[Any] | None:
        return self._kinds.get(name)

    def names(self) -> list[str]:
        return list(self._kinds)

    def choices(self) -> list[tuple[str, str]]:
        """``(name, "label — tier N")`` for every kind, cheapest tier first (for forms)."""
        kinds = sorted(self._kinds.values(), key=lambda k: int(k.tier))
        return [(k.name, f"{k.label} — tier {int(k.tier)}") for k in kinds]

    def config_schema(self, name: str) -> dict[str, Any]:
        """A fresh copy of the kind's config schema (``{"type": "object"}`` for an unknown kind)."""
        return copy.deepcopy(self._schemas.get(name, {"type": "object"}))

    def config_validator(self, name: str) -> jsonschema.Draft202012Validator | None:
        return self._validators.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self) -> Iterator[RuleKind[Any]]:
        return iter(list(self._kinds.values()))

    def __len__(self) -> int:
        return len(self._kinds)


KINDS = KindRegistry()


def register_kind(kind: KindT) -> KindT:
    """Register a kind: an instance, or (as a class decorator) a class, which is instantiated.
    Returns its argument, so ``@register_kind`` leaves the class in its module."""
    KINDS.register(kind() if isinstance(kind, type) else kind)
    return kind
