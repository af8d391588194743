"""Turn a `PolicySpec` into a `CompiledPolicy`: per stage, the tier-1 patterns of every
rule merged into one `re2.Set` per text view, plus the non-pattern rules and the tier-2/3
rules in cost order. Compiled policies are cached by ``(policy id, version)``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import re2

from guardrails.engine import detectors
from guardrails.engine.leak import LeakIndex
from guardrails.engine.normalize import SPACED_RUN_DETECTOR
from guardrails.engine.phrases import is_template, phrase_key, phrase_pattern
from guardrails.engine.types import (
    FailMode,
    PolicySpec,
    RuleKind,
    RuleSpec,
    Stage,
    Tier,
)
from guardrails.engine.validation import validate_rule

__all__ = [
    "CompiledPolicy",
    "PatternSet",
    "RuleProgram",
    "StagePlan",
    "cache_info",
    "cached_policy",
    "clear_cache",
    "compile_policy",
]

RAW = "raw"
FOLDED = "folded"
SKELETON = "skeleton"

SET_MAX_MEM = 64 << 20
_SENTINEL = r"\z"  # matches every text: its absence means the DFA gave up (out of memory)


def re2_options(*, max_mem: int = SET_MAX_MEM) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = max_mem
    return options


def re2_error_message(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


@dataclass(frozen=True, slots=True)
class RuleProgram:
    """A rule ready to run: the spec plus what was compiled from its config."""

    spec: RuleSpec
    kind: RuleKind
    tier: Tier
    fail_mode: FailMode
    placeholder: str
    labels: Mapping[str, str] = field(default_factory=dict)  # phrase key → phrase
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind_value(self) -> str:
        return self.spec.kind


@dataclass(frozen=True, slots=True)
class Consumer:
    """One rule's interest in one set entry."""

    program: RuleProgram
    entity: str
    validator: detectors.Validator | None
    priority: int
    placeholder: str
    label: str
    detail: str | None = None  # fixed detail for hits; None: computed from the match


@dataclass(frozen=True, slots=True)
class Entry:
    pattern: str
    regex: Any  # re2._Regexp (untyped)
    consumers: tuple[Consumer, ...]


class PatternSet:
    """One RE2 multi-pattern scan over one view of the text.

    Index 0 is a sentinel that always matches, so a DFA that ran out of memory (RE2 then
    reports no match at all) is detected and the entries are searched one by one instead
    of silently missing everything. With ``detect_spaced`` index 1 is the spaced-letter
    detector used by the normaliser.
    """

    __slots__ = ("_set", "detect_spaced", "entries", "first", "view")

    def __init__(
        self,
        view: str,
        entries: Sequence[Entry],
        *,
        detect_spaced: bool = False,
        max_mem: int = SET_MAX_MEM,
    ) -> None:
        self.view = view
        self.entries = tuple(entries)
        self.detect_spaced = detect_spaced
        self.first = 2 if detect_spaced else 1
        built: Any = re2.Set.SearchSet(re2_options(max_mem=max_mem))
        built.Add(_SENTINEL)
        if detect_spaced:
            built.Add(SPACED_RUN_DETECTOR)
        for entry in self.entries:
            built.Add(entry.pattern)
        built.Compile()
        self._set = built

    def match(self, data: bytes) -> tuple[list[Entry], bool]:
        """The entries that match somewhere, and whether spaced-out letters were seen."""
        found = self._set.Match(data)
        if not found or 0 not in found:
            return self._match_one_by_one(data), self.detect_spaced
        first = self.first
        spaced = self.detect_spaced and 1 in found
        entries = self.entries
        return [entries[i - first] for i in found if i >= first], spaced

    def _match_one_by_one(self, data: bytes) -> list[Entry]:
        text = data.decode("utf-8")
        return [e for e in self.entries if e.regex.search(text) is not None]


@dataclass(frozen=True, slots=True)
class StagePlan:
    stage: Stage
    sets: tuple[PatternSet, ...]  # in scan order: raw, skeleton, folded
    window_rules: tuple[RuleProgram, ...]  # tier 1 rules run on every window in Python
    whole_rules: tuple[RuleProgram, ...]  # tier 1 rules that need the whole text
    classifiers: tuple[RuleProgram, ...]
    judges: tuple[RuleProgram, ...]
    broken: tuple[tuple[RuleProgram, str], ...]  # rules whose config did not compile

    @property
    def has_rules_tier(self) -> bool:
        return bool(self.sets or self.window_rules or self.whole_rules or self.broken)


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    spec: PolicySpec
    input: StagePlan
    output: StagePlan
    compile_errors: tuple[tuple[int | str, str], ...]

    def plan(self, stage: Stage) -> StagePlan:
        return self.input if stage is Stage.INPUT else self.output


# --- per-kind compilation --------------------------------------------------------------------

_Wanted = list[tuple[str, str, Consumer]]  # (view, pattern, consumer)


def _placeholder(config: Mapping[str, Any], default: str) -> str:
    value = config.get("placeholder")
    return value if isinstance(value, str) and value else default


def _regex(program: RuleProgram, wanted: _Wanted) -> None:
    config = program.spec.config
    flags = "" if config.get("case_sensitive", False) else "(?i)"
    view = FOLDED if config.get("normalized", False) else RAW
    entity = str(config.get("entity") or "PATTERN")
    for n, pattern in enumerate(config.get("patterns", ())):
        label = f"pattern {n + 1}"
        consumer = Consumer(program, entity, None, 1, program.placeholder, label, label)
        wanted.append((view, flags + pattern, consumer))


def _phrases(program: RuleProgram, wanted: _Wanted) -> tuple[dict[str, str], tuple[Any, ...]]:
    """One alternation for all the rule's phrases; returns what `_detail` needs to say which
    phrase matched: literal phrases by their key, templates with their own regex."""
    config = program.spec.config
    word = config.get("match", "word") != "substring"
    labels: dict[str, str] = {}
    templates: list[tuple[str, Any]] = []
    alternatives: list[str] = []
    for n, phrase in enumerate(config.get("phrases", ()), start=1):
        pattern = phrase_pattern(phrase, word=word)
        if pattern is None:
            continue
        if is_template(phrase):
            label = f"phrase {n}: {_shorten(phrase)}"
            templates.append((label, re2.compile(pattern, re2_options())))
        else:
            labels.setdefault(phrase_key(phrase), f"phrase {n}: {phrase!r}")
        alternatives.append(pattern)
    if alternatives:
        consumer = Consumer(program, "PHRASE", None, 1, program.placeholder, "phrase")
        wanted.append((SKELETON, "(?:" + "|".join(alternatives) + ")", consumer))
    return labels, tuple(templates)


def _shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _canary(program: RuleProgram, wanted: _Wanted) -> dict[str, str]:
    labels: dict[str, str] = {}
    alternatives: list[str] = []
    for n, token in enumerate(program.spec.config.get("tokens", ())):
        pattern = phrase_pattern(token, word=False)
        if pattern is None:
            continue
        labels.setdefault(phrase_key(token), f"canary token {n + 1}")
        alternatives.append(pattern)
    if alternatives:
        consumer = Consumer(program, "CANARY", None, 1, program.placeholder, "canary")
        wanted.append((SKELETON, "(?:" + "|".join(alternatives) + ")", consumer))
    return labels


def _enabled(config: Mapping[str, Any], section: str, keys: Sequence[str]) -> list[str]:
    switches = config.get(section)
    if switches is None:
        return list(keys)
    return [k for k in keys if switches.get(k, False)]


def _pii(program: RuleProgram, wanted: _Wanted) -> None:
    keys = set(_enabled(program.spec.config, "entities", detectors.PII_KEYS))
    for d in detectors.PII_DETECTORS:
        if d.key in keys:
            placeholder = _placeholder(program.spec.config, f"[{d.entity}]")
            for pattern in d.patterns:
                c = Consumer(program, d.entity, d.validator, d.priority, placeholder, d.key, d.entity)
                wanted.append((RAW, pattern, c))


def _secrets(program: RuleProgram, wanted: _Wanted) -> None:
    config = program.spec.config
    keys = set(_enabled(config, "detectors", detectors.SECRET_KEYS))
    typed = config.get("placeholder", "typed") != "generic"

    def placeholder(entity: str) -> str:
        return f"[{entity}]" if typed else "[SECRET]"

    for d in detectors.SECRET_DETECTORS:
        if d.key in keys:
            for pattern in d.patterns:
                c = Consumer(
                    program,
                    d.entity,
                    d.validator,
                    d.priority,
                    placeholder(d.entity),
                    d.key,
                    f"{d.key} ({d.entity})",
                )
                wanted.append((RAW, pattern, c))
    if detectors.HIGH_ENTROPY_KEY in keys:
        threshold = float(config.get("entropy_threshold", 4.0))
        min_length = int(config.get("min_length", 24))
        c = Consumer(
            program,
            detectors.HIGH_ENTROPY_ENTITY,
            detectors.make_entropy_validator(threshold),
            detectors.HIGH_ENTROPY_PRIORITY,
            placeholder(detectors.HIGH_ENTROPY_ENTITY),
            detectors.HIGH_ENTROPY_KEY,
            f"{detectors.HIGH_ENTROPY_KEY} (entropy >= {threshold:g} bits/char)",
        )
        wanted.append((RAW, detectors.entropy_pattern(min_length), c))


def _prompt_leak_data(config: Mapping[str, Any]) -> dict[str, Any]:
    prompt = config.get("system_prompt") or ""
    n = int(config.get("min_overlap_words", 8))
    ratio = config.get("min_overlap_ratio")
    return {
        "index": LeakIndex.build(prompt, n) if prompt else None,
        "n": n,
        "ratio": float(ratio) if ratio is not None else None,
    }


def _json_schema_data(config: Mapping[str, Any]) -> dict[str, Any]:
    schema = config["schema"]
    jsonschema.Draft202012Validator.check_schema(schema)
    return {
        "validator": jsonschema.Draft202012Validator(schema),
        "strip_code_fence": bool(config.get("strip_code_fence", False)),
    }


_DEFAULT_PLACEHOLDER: Mapping[RuleKind, str] = {
    RuleKind.REGEX: "[REDACTED]",
    RuleKind.PHRASES: "[REDACTED]",
    RuleKind.CANARY: "[REDACTED]",
    RuleKind.PROMPT_LEAK: "[REDACTED]",
    RuleKind.LENGTH: "[TRUNCATED]",
    RuleKind.JSON_SCHEMA: "[REDACTED]",
}


def _program(rule: RuleSpec, kind: RuleKind, policy_fail_mode: FailMode) -> RuleProgram:
    config = rule.config
    default = _DEFAULT_PLACEHOLDER.get(kind, "[REDACTED]")
    if kind is RuleKind.REGEX and config.get("entity"):
        default = f"[{config['entity']}]"
    data: dict[str, Any] = {}
    if kind is RuleKind.PROMPT_LEAK:
        data = _prompt_leak_data(config)
    elif kind is RuleKind.JSON_SCHEMA:
        data = _json_schema_data(config)
    elif kind is RuleKind.LENGTH:
        data = {"max_chars": config.get("max_chars"), "max_lines": config.get("max_lines")}
    elif kind is RuleKind.CLASSIFIER:
        data = {"threshold": float(config.get("threshold", 0.8)), "label": config.get("label")}
    elif kind is RuleKind.LLM_GUARD:
        data = {"threshold": float(config.get("threshold", 0.5))}
    return RuleProgram(
        spec=rule,
        kind=kind,
        tier=kind.tier,
        fail_mode=rule.fail_mode or policy_fail_mode,
        placeholder=_placeholder(config, default),
        data=data,
    )


def _broken_program(rule: RuleSpec, policy_fail_mode: FailMode) -> RuleProgram:
    try:
        kind = RuleKind(rule.kind)
    except ValueError:
        kind = RuleKind.REGEX
    return RuleProgram(
        spec=rule,
        kind=kind,
        tier=kind.tier,
        fail_mode=rule.fail_mode or policy_fail_mode,
        placeholder="[REDACTED]",
    )


def _build_sets(wanted: _Wanted, *, needs_normalized: bool) -> tuple[PatternSet, ...]:
    by_view: dict[str, dict[str, list[Consumer]]] = {RAW: {}, SKELETON: {}, FOLDED: {}}
    for view, pattern, consumer in wanted:
        by_view[view].setdefault(pattern, []).append(consumer)
    # The skeleton scan carries the spaced-letter detector that every normalised view (and
    # the window rules) rely on, so it runs whenever anything normalised is needed.
    needs_skeleton = needs_normalized or bool(by_view[SKELETON] or by_view[FOLDED])
    sets: list[PatternSet] = []
    options = re2_options()
    for view in (RAW, SKELETON, FOLDED):
        patterns = by_view[view]
        if not patterns and not (view == SKELETON and needs_skeleton):
            continue
        entries = [
            Entry(pattern, re2.compile(pattern, options), tuple(consumers)) for pattern, consumers in patterns.items()
        ]
        sets.append(PatternSet(view, entries, detect_spaced=view == SKELETON))
    return tuple(sets)


def _compile_stage(spec: PolicySpec, stage: Stage, errors: list[tuple[int | str, str]]) -> StagePlan:
    wanted: _Wanted = []
    window_rules: list[RuleProgram] = []
    whole_rules: list[RuleProgram] = []
    classifiers: list[RuleProgram] = []
    judges: list[RuleProgram] = []
    broken: list[tuple[RuleProgram, str]] = []
    for rule in spec.rules:
        if not rule.enabled or not rule.applies_to(stage):
            continue
        problems = validate_rule(rule.kind, rule.config, action=rule.action)
        if problems:
            message = "; ".join(problems)
            broken.append((_broken_program(rule, spec.fail_mode), message))
            errors.append((rule.id, message))
            continue
        kind = RuleKind(rule.kind)
        try:
            program = _program(rule, kind, spec.fail_mode)
            mine: _Wanted = []
            if kind is RuleKind.REGEX:
                _regex(program, mine)
            elif kind is RuleKind.PHRASES:
                labels, templates = _phrases(program, mine)
                program = _with_labels(program, labels, {"templates": templates})
                mine = [(v, p, _rebind(c, program)) for v, p, c in mine]
            elif kind is RuleKind.CANARY:
                labels = _canary(program, mine)
                program = _with_labels(program, labels)
                mine = [(v, p, _rebind(c, program)) for v, p, c in mine]
                window_rules.append(program)  # tokens given per request in the context
            elif kind is RuleKind.PII:
                _pii(program, mine)
            elif kind is RuleKind.SECRETS:
                _secrets(program, mine)
            elif kind is RuleKind.PROMPT_LEAK:
                window_rules.append(program)
            elif kind in (RuleKind.LENGTH, RuleKind.JSON_SCHEMA):
                whole_rules.append(program)
            elif kind is RuleKind.CLASSIFIER:
                classifiers.append(program)
            elif kind is RuleKind.LLM_GUARD:
                judges.append(program)
            for _view, pattern, _consumer in mine:
                re2.compile(pattern, re2_options())
        except Exception as exc:
            message = f"{type(exc).__name__}: {re2_error_message(exc)}"
            broken.append((_broken_program(rule, spec.fail_mode), message))
            errors.append((rule.id, message))
            continue
        wanted.extend(mine)
    try:
        sets = _build_sets(wanted, needs_normalized=bool(window_rules))
    except Exception as exc:
        message = f"pattern set did not compile: {re2_error_message(exc)}"
        programs = {id(c.program): c.program for _v, _p, c in wanted}
        for program in programs.values():
            broken.append((program, message))
            errors.append((program.spec.id, message))
        sets = ()
    return StagePlan(
        stage=stage,
        sets=sets,
        window_rules=tuple(window_rules),
        whole_rules=tuple(whole_rules),
        classifiers=tuple(classifiers),
        judges=tuple(judges),
        broken=tuple(broken),
    )


def _with_labels(program: RuleProgram, labels: dict[str, str], data: Mapping[str, Any] | None = None) -> RuleProgram:
    return RuleProgram(
        spec=program.spec,
        kind=program.kind,
        tier=program.tier,
        fail_mode=program.fail_mode,
        placeholder=program.placeholder,
        labels=labels,
        data={**program.data, **(data or {})},
    )


def _rebind(consumer: Consumer, program: RuleProgram) -> Consumer:
    return Consumer(
        program,
        consumer.entity,
        consumer.validator,
        consumer.priority,
        consumer.placeholder,
        consumer.label,
        consumer.detail,
    )


def compile_policy(spec: PolicySpec, *, cache: bool = True) -> CompiledPolicy:
    """Compile a policy, through the LRU cache keyed by ``(spec.id, spec.version)`` unless
    `cache` is False.

    Rules whose config does not compile do not raise: they are listed in `compile_errors`
    and report a guard error on every check of their stage, with their fail mode applied,
    so a bad rule is visible and cannot silently vanish.
    """
    if cache:
        return cached_policy(spec.id, spec.version, lambda: spec)
    return _compile(spec)


def _compile(spec: PolicySpec) -> CompiledPolicy:
    errors: list[tuple[int | str, str]] = []
    input_plan = _compile_stage(spec, Stage.INPUT, errors)
    output_plan = _compile_stage(spec, Stage.OUTPUT, errors)
    unique = tuple(dict.fromkeys(errors))
    return CompiledPolicy(spec=spec, input=input_plan, output=output_plan, compile_errors=unique)


# --- cache -----------------------------------------------------------------------------------


class _LruCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[tuple[Any, int], CompiledPolicy] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, int]) -> CompiledPolicy | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item

    def put(self, key: tuple[Any, int], value: CompiledPolicy) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


_CACHE = _LruCache(256)


def cached_policy(policy_id: int | str, version: int, build: Callable[[], PolicySpec]) -> CompiledPolicy:
    """The compiled policy for ``(policy_id, version)``, calling `build` only on a miss, so
    the caller can skip loading the rules when the version is already compiled. Compiling
    happens outside the lock: two threads missing together both compile, one result wins."""
    key = (policy_id, version)
    compiled = _CACHE.get(key)
    if compiled is not None:
        return compiled
    spec = build()
    if (spec.id, spec.version) != key:
        raise ValueError(f"build() returned policy {spec.id!r} v{spec.version}, wanted {key!r}")
    compiled = _compile(spec)
    _CACHE.put(key, compiled)
    return compiled


def clear_cache() -> None:
    _CACHE.clear()


def cache_info() -> dict[str, int]:
    return {"size": len(_CACHE), "max_size": _CACHE.size, "hits": _CACHE.hits, "misses": _CACHE.misses}
