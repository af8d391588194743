"""Turn a `PolicySpec` into a `CompiledPolicy`: per stage, the tier-1 patterns of every
rule merged into one `re2.Set` per text view, the rules that scan in Python, and the
tier-2/3 rules in cost order. Compiled policies are cached by ``(policy id, version)``.

The compiler knows no kind by name: it asks each rule's kind (`guardrails.engine.kinds`)
to compile the config and say how it scans.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import re2

from guardrails.engine import detectors
from guardrails.engine.kinds import KINDS, PatternUse, RuleKind, View
from guardrails.engine.normalize import SPACED_RUN_DETECTOR
from guardrails.engine.re2_patterns import SET_MAX_MEM, compile_pattern, re2_error_message, re2_options
from guardrails.engine.types import FailMode, PolicySpec, RuleSpec, Stage, Tier
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

RAW = View.RAW
FOLDED = View.FOLDED
SKELETON = View.SKELETON

_SENTINEL = r"\z"  # matches every text: its absence means the DFA gave up (out of memory)


@dataclass(frozen=True, slots=True)
class RuleProgram:
    """A rule ready to run: its spec, its kind, and the kind's compiled config (`config`,
    the kind's own frozen dataclass). `kind` is None for a rule whose kind is unknown."""

    spec: RuleSpec
    kind: RuleKind[Any] | None
    tier: Tier
    fail_mode: FailMode
    config: Any = None
    storage_only: bool = False  # a storage redaction rule (see `PolicySpec.storage_rules`)

    @property
    def kind_value(self) -> str:
        return self.spec.kind


@dataclass(frozen=True, slots=True)
class Consumer:
    """One rule's interest in one set entry (a `PatternUse` bound to its rule, flattened
    for the scan's hot path)."""

    program: RuleProgram
    use: PatternUse
    entity: str
    validator: detectors.Validator | None
    priority: int
    placeholder: str
    detail: str | None  # fixed detail for hits; None: the kind describes the match


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
    model_tiers: tuple[tuple[Tier, tuple[RuleProgram, ...]], ...]  # tiers 2+, cheapest first
    broken: tuple[tuple[RuleProgram, str], ...]  # rules whose config did not compile

    @property
    def has_rules_tier(self) -> bool:
        return bool(self.sets or self.window_rules or self.whole_rules or self.broken)

    def programs(self, tier: Tier) -> tuple[RuleProgram, ...]:
        """The rules of one model tier (tier 1 rules live in sets, window and whole rules)."""
        for plan_tier, programs in self.model_tiers:
            if plan_tier is tier:
                return programs
        return ()

    def tier1_programs(self) -> list[RuleProgram]:
        """Every rule that runs (or reports an error) in tier 1."""
        programs = {id(p): p for p, _ in self.broken}
        for pattern_set in self.sets:
            for entry in pattern_set.entries:
                programs.update((id(c.program), c.program) for c in entry.consumers)
        programs.update((id(p), p) for p in (*self.window_rules, *self.whole_rules))
        return list(programs.values())


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    spec: PolicySpec
    input: StagePlan
    output: StagePlan
    compile_errors: tuple[tuple[int | str, str], ...]

    def plan(self, stage: Stage) -> StagePlan:
        return self.input if stage is Stage.INPUT else self.output


_Wanted = list[tuple[str, str, Consumer]]  # (view, pattern, consumer)


def _broken_program(rule: RuleSpec, policy_fail_mode: FailMode, *, storage_only: bool = False) -> RuleProgram:
    kind = KINDS.get(rule.kind)
    return RuleProgram(
        spec=rule,
        kind=kind,
        tier=kind.tier if kind is not None else Tier.RULES,
        fail_mode=rule.fail_mode or policy_fail_mode,
        storage_only=storage_only,
    )


def _build_sets(wanted: _Wanted, *, needs_normalized: bool) -> tuple[PatternSet, ...]:
    by_view: dict[str, dict[str, list[Consumer]]] = {view: {} for view in View.ALL}
    for view, pattern, consumer in wanted:
        by_view[view].setdefault(pattern, []).append(consumer)
    # The skeleton scan carries the spaced-letter detector that every normalised view (and
    # the window rules) rely on, so it runs whenever anything normalised is needed.
    needs_skeleton = needs_normalized or bool(by_view[SKELETON] or by_view[FOLDED])
    sets: list[PatternSet] = []
    for view in View.ALL:
        patterns = by_view[view]
        if not patterns and not (view == SKELETON and needs_skeleton):
            continue
        entries = [
            Entry(pattern, compile_pattern(pattern), tuple(consumers)) for pattern, consumers in patterns.items()
        ]
        sets.append(PatternSet(view, entries, detect_spaced=view == SKELETON))
    return tuple(sets)


def _compile_stage(spec: PolicySpec, stage: Stage, errors: list[tuple[int | str, str]]) -> StagePlan:
    wanted: _Wanted = []
    window_rules: list[RuleProgram] = []
    whole_rules: list[RuleProgram] = []
    model_rules: dict[Tier, list[RuleProgram]] = {}
    broken: list[tuple[RuleProgram, str]] = []
    candidates = [(rule, False) for rule in spec.rules] + [(rule, True) for rule in spec.storage_rules]
    for rule, storage_only in candidates:
        if not rule.enabled or (not storage_only and not rule.applies_to(stage)):
            continue
        problems = validate_rule(rule.kind, rule.config, action=rule.action)
        kind = KINDS.get(rule.kind)
        if storage_only and kind is not None and (kind.tier is not Tier.RULES or not kind.has_span):
            problems.append(f"a storage rule must be a tier-1 kind with spans; {kind.name} is not")
        if problems or kind is None:
            message = "; ".join(problems)
            broken.append((_broken_program(rule, spec.fail_mode, storage_only=storage_only), message))
            errors.append((rule.id, message))
            continue
        try:
            program = RuleProgram(
                spec=rule,
                kind=kind,
                tier=kind.tier,
                fail_mode=rule.fail_mode or spec.fail_mode,
                config=kind.compile(rule.config),
                storage_only=storage_only,
            )
            mine: _Wanted = []
            if kind.tier is Tier.RULES:
                for use in kind.patterns(program.config):
                    compile_pattern(use.pattern)
                    consumer = Consumer(
                        program, use, use.entity, use.validator, use.priority, use.placeholder, use.detail
                    )
                    mine.append((use.view, use.pattern, consumer))
        except Exception as exc:
            message = f"{type(exc).__name__}: {re2_error_message(exc)}"
            broken.append((_broken_program(rule, spec.fail_mode, storage_only=storage_only), message))
            errors.append((rule.id, message))
            continue
        wanted.extend(mine)
        if kind.tier is not Tier.RULES:
            model_rules.setdefault(kind.tier, []).append(program)
            continue
        if kind.scans_windows:
            window_rules.append(program)
        if kind.scans_text:
            whole_rules.append(program)
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
        model_tiers=tuple((tier, tuple(model_rules[tier])) for tier in sorted(model_rules)),
        broken=tuple(broken),
    )


def compile_policy(spec: PolicySpec, *, cache: bool = True) -> CompiledPolicy:
    """Compile a policy, through the LRU cache keyed by ``(spec.id, spec.version)`` unless
    `cache` is False.

    Rules whose config does not compile do not raise: they are listed in `compile_errors`
    and report a guard error on every check of their stage, with their fail mode applied,
    so a bad rule is visible and cannot silently vanish.
    """
    if cache:
        return cached_policy(spec.id, spec.version, lambda: spec, storage_rules=spec.storage_rules)
    return _compile(spec)


def _compile(spec: PolicySpec) -> CompiledPolicy:
    errors: list[tuple[int | str, str]] = []
    input_plan = _compile_stage(spec, Stage.INPUT, errors)
    output_plan = _compile_stage(spec, Stage.OUTPUT, errors)
    unique = tuple(dict.fromkeys(errors))
    return CompiledPolicy(spec=spec, input=input_plan, output=output_plan, compile_errors=unique)


# --- cache -----------------------------------------------------------------------------------


_CacheKey = tuple[Any, int, tuple[Any, ...]]  # (policy id, version, storage rule ids)


class _LruCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[_CacheKey, CompiledPolicy] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _CacheKey) -> CompiledPolicy | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item

    def put(self, key: _CacheKey, value: CompiledPolicy) -> None:
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


def cached_policy(
    policy_id: int | str,
    version: int,
    build: Callable[[], PolicySpec],
    *,
    storage_rules: Sequence[RuleSpec] = (),
) -> CompiledPolicy:
    """The compiled policy for ``(policy_id, version)`` (with `storage_rules` added, a cache
    entry of its own), calling `build` only on a miss, so the caller can skip loading the
    rules when the version is already compiled. Compiling happens outside the lock: two
    threads missing together both compile, one result wins."""
    storage = tuple(storage_rules)
    key = (policy_id, version, tuple(rule.id for rule in storage))
    compiled = _CACHE.get(key)
    if compiled is not None:
        return compiled
    spec = build()
    if (spec.id, spec.version) != key[:2]:
        raise ValueError(f"build() returned policy {spec.id!r} v{spec.version}, wanted {key[:2]!r}")
    if spec.storage_rules != storage:
        spec = replace(spec, storage_rules=storage)
    compiled = _compile(spec)
    _CACHE.put(key, compiled)
    return compiled


def clear_cache() -> None:
    _CACHE.clear()


def cache_info() -> dict[str, int]:
    return {"size": len(_CACHE), "max_size": _CACHE.size, "hits": _CACHE.hits, "misses": _CACHE.misses}
