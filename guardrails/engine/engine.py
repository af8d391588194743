"""Run a compiled policy on one text: tier 1 rules, then the classifier, then the LLM guard,
each tier only if nothing before it blocked.

Nothing raised inside a rule escapes `check`: it becomes a `GuardErrorRecord` with the
rule's fail mode (its own, else the policy's) applied. Only caller mistakes raise: a text
over `ABSOLUTE_MAX_CHARS` (`TextTooLarge`) or a bad stage (`ValueError`).

Long texts. Texts longer than the policy's ``max_text_chars`` are checked in windows of that
size overlapping by ``window_overlap`` characters (window starts are moved back to a
whitespace when one is near, so a window rarely starts mid-word). RE2 is linear, so this is
not about speed: it bounds the working buffers and offset maps of one scan and the input of
one classifier or judge call. A match is reported by the window it starts in, and is found
whole as long as it is no longer than the overlap, so a pattern straddling a boundary is
still found; only a single match longer than the overlap (4096 characters by default) can
be cut. Validators always see the whole text around a candidate. Kinds that scan the whole
text (``length``, ``json_schema``) see it at once.

The engine names no rule kind: each rule's kind (`guardrails.engine.kinds`) contributes
patterns to the shared scan, scans in Python, or assesses through a backend.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrails.engine.backends import BackendRefused, Backends, is_timeout
from guardrails.engine.compiler import (
    RAW,
    SKELETON,
    CompiledPolicy,
    Consumer,
    Entry,
    RuleProgram,
    StagePlan,
)
from guardrails.engine.kinds import Finding, ModelWindow, RuleError
from guardrails.engine.normalize import NormalizedText
from guardrails.engine.types import (
    ACTION_DECISION,
    Action,
    CheckResult,
    Decision,
    FailMode,
    GuardErrorRecord,
    Hit,
    Redaction,
    Stage,
    Tier,
    strongest,
)

__all__ = ["ABSOLUTE_MAX_CHARS", "TextTooLarge", "check"]

ABSOLUTE_MAX_CHARS = 1_000_000
_WHITESPACE_LOOKBACK = 256
_ERROR_MESSAGE_CHARS = 300


_Span = tuple[int, int, str, int | str]  # (start, end, placeholder, rule id) to replace


class TextTooLarge(ValueError):
    """The text is over the absolute cap; the API answers 413 (or 400) without checking."""

    def __init__(self, length: int, limit: int = ABSOLUTE_MAX_CHARS) -> None:
        super().__init__(f"text is {length} characters; the limit is {limit}")
        self.length = length
        self.limit = limit


@dataclass(slots=True)
class _Candidate:
    program: RuleProgram
    start: int
    end: int
    entity: str
    detail: str
    priority: int
    placeholder: str


class _Run:
    """Accumulates one check's hits, errors and decision, and the storage redactor's spans
    (which are neither hits nor errors: they never change the decision)."""

    __slots__ = ("decision", "error_keys", "errors", "hits", "placeholders", "storage_failed", "storage_spans")

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.placeholders: dict[int, str] = {}  # id(hit) → redaction placeholder
        self.errors: list[GuardErrorRecord] = []
        self.error_keys: set[tuple[int | str, str]] = set()
        self.decision = Decision.ALLOW
        self.storage_spans: list[_Span] = []
        self.storage_failed = False

    @property
    def blocked(self) -> bool:
        return self.decision is Decision.BLOCK

    def hit(self, hit: Hit, placeholder: str = "[REDACTED]") -> None:
        self.hits.append(hit)
        self.placeholders[id(hit)] = placeholder
        self.decision = strongest(self.decision, ACTION_DECISION[hit.action])

    def add_rule_hits(self, candidates: Sequence[_Candidate]) -> None:
        """Tier-1 hits in bulk (the hot path when a text carries many matches)."""
        hits = self.hits
        placeholders = self.placeholders
        actions: set[Action] = set()
        rules = Tier.RULES
        for c in candidates:
            if c.program.storage_only:
                self.storage_spans.append((c.start, c.end, c.placeholder, c.program.spec.id))
                continue
            rule = c.program.spec
            hit = Hit(
                rule.id,
                rule.name,
                c.program.kind_value,
                rules,
                rule.action,
                rule.severity,
                c.start,
                c.end,
                c.entity,
                None,
                c.detail,
            )
            hits.append(hit)
            placeholders[id(hit)] = c.placeholder
            actions.add(rule.action)
        for action in actions:
            self.decision = strongest(self.decision, ACTION_DECISION[action])

    def error(self, program: RuleProgram, code: str, message: str) -> None:
        if program.storage_only:  # no redacted text for storage; the policy's answer stands
            self.storage_failed = True
            return
        key = (program.spec.id, code)
        if key in self.error_keys:
            return
        self.error_keys.add(key)
        self.errors.append(
            GuardErrorRecord(
                rule_id=program.spec.id,
                rule_name=program.spec.name,
                tier=program.tier,
                error_code=code,
                message=message[:_ERROR_MESSAGE_CHARS],
                fail_mode_applied=program.fail_mode,
            )
        )
        if program.fail_mode is FailMode.CLOSED:
            self.decision = Decision.BLOCK

    def exception(self, program: RuleProgram, exc: BaseException, code: str = "rule_error") -> None:
        if isinstance(exc, RuleError):  # the kind said why it could not answer
            self.error(program, exc.code, exc.message)
            return
        if isinstance(exc, BackendRefused):  # the backend declined its call (e.g. no budget)
            code = exc.code
        elif is_timeout(exc):
            code = "timeout"
        self.error(program, code, f"{type(exc).__name__}: {exc}")


def _ms(start_ns: int) -> float:
    return (time.perf_counter_ns() - start_ns) / 1e6


def check(
    compiled: CompiledPolicy,
    *,
    text: str,
    stage: Stage | str,
    backends: Backends | None = None,
    context: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Check one text against a compiled policy at one stage.

    `context` may carry per-request values for tier-1 rules: ``canary_tokens`` (a list of
    strings planted in this request's system prompt, checked by the policy's canary rules)
    and ``system_prompt`` (used by prompt_leak rules that have none configured).
    """
    if not isinstance(text, str):
        raise TypeError("text must be a str")
    if len(text) > ABSOLUTE_MAX_CHARS:
        raise TextTooLarge(len(text))
    stage = Stage(stage)
    if stage is Stage.BOTH:
        raise ValueError("check one stage at a time: input or output")
    plan = compiled.plan(stage)
    spec = compiled.spec
    context = context or {}
    run = _Run()
    latency: dict[Tier, float] = {}
    tiers_run: list[Tier] = []
    redactions: tuple[Redaction, ...] = ()
    out_text = text
    windows: list[ModelWindow] | None = None

    tiers: list[tuple[Tier, Sequence[RuleProgram]]] = list(plan.model_tiers)
    if plan.has_rules_tier:
        tiers.insert(0, (Tier.RULES, ()))
    for tier, programs in tiers:
        if tier is not Tier.RULES and run.blocked:
            break  # cheapest first: a block ends the check
        started = time.perf_counter_ns()
        try:
            if tier is Tier.RULES:
                _tier_rules(compiled, plan, text, context, run)
                redactions, out_text = _redact(text, _redact_spans(run.hits, run.placeholders))
            else:
                # Tiers 2 and 3 see the text after tier-1 redaction: a remote model gets no secrets.
                if windows is None:
                    windows = _model_windows(compiled, out_text, redactions)
                _tier_models(programs, windows, backends, run)
        except Exception as exc:  # an engine bug must not take the request down either
            for program in plan.tier1_programs() if tier is Tier.RULES else programs:
                run.exception(program, exc, "engine_error")
        latency[tier] = _ms(started)
        tiers_run.append(tier)

    stored_input = stored_output = None
    if spec.storage_rules and Tier.RULES in tiers_run and not run.storage_failed:
        stored_input, stored_output = _stored_texts(text, run)
    return CheckResult(
        decision=run.decision,
        text=out_text,
        hits=tuple(run.hits),
        errors=tuple(run.errors),
        policy_id=spec.id,
        policy_version=spec.version,
        latency_ms=latency,
        tiers_run=tuple(tiers_run),
        redactions=redactions,
        stage=stage,
        stored_input=stored_input,
        stored_output=stored_output,
    )


def _stored_texts(text: str, run: _Run) -> tuple[str, str]:
    """The checked text with the storage redactor's spans replaced, and the returned text with
    the policy's own redactions and the storage redactor's (merged where they overlap)."""
    stored_input = _redact(text, run.storage_spans)[1]
    policy_spans = _redact_spans(run.hits, run.placeholders)
    if not policy_spans:
        return stored_input, stored_input
    return stored_input, _redact(text, [*run.storage_spans, *policy_spans])[1]


# --- windows ---------------------------------------------------------------------------------


def _windows(text: str, size: int, overlap: int) -> list[tuple[int, int, int]]:
    """(start, end, owned_end) for each window; a match belongs to the window it starts in."""
    n = len(text)
    if n <= size:
        return [(0, n, n)]
    windows: list[tuple[int, int, int]] = []
    start = 0
    while True:
        end = min(start + size, n)
        if end >= n:
            windows.append((start, n, n))
            return windows
        nxt = end - overlap
        lookback = max(0, nxt - _WHITESPACE_LOOKBACK)
        space = max(text.rfind(" ", lookback, nxt), text.rfind("\n", lookback, nxt))
        if space > start:
            nxt = space + 1
        windows.append((start, end, nxt))
        start = nxt


# --- tier 1 ----------------------------------------------------------------------------------


def _tier_rules(
    compiled: CompiledPolicy,
    plan: StagePlan,
    text: str,
    context: Mapping[str, Any],
    run: _Run,
) -> None:
    for program, message in plan.broken:
        run.error(program, "invalid_config", message)
    spec = compiled.spec
    candidates: list[_Candidate] = []
    for start, end, owned_end in _windows(text, spec.max_text_chars, spec.window_overlap):
        chunk = text if (start == 0 and end == len(text)) else text[start:end]
        found = _scan_window(plan, text, chunk, start, context, run)
        candidates.extend(c for c in found if c.start < owned_end)
    for program in plan.whole_rules:
        try:
            assert program.kind is not None
            findings = program.kind.scan_text(program.config, text, context)
            candidates.extend(_candidate(program, f, 0) for f in findings)
        except Exception as exc:
            run.exception(program, exc)
    if candidates:
        run.add_rule_hits(_resolve(candidates))


def _scan_window(
    plan: StagePlan,
    text: str,
    chunk: str,
    offset: int,
    context: Mapping[str, Any],
    run: _Run,
) -> list[_Candidate]:
    found: list[_Candidate] = []
    normalized: NormalizedText | None = None
    for pattern_set in plan.sets:
        try:
            if pattern_set.view == RAW:
                entries, _ = pattern_set.match(chunk.encode("utf-8"))
                view_text = chunk
            else:
                if normalized is None:
                    normalized = NormalizedText(chunk)
                if pattern_set.view == SKELETON:
                    entries, spaced = pattern_set.match(normalized.skeleton_bytes)
                    if spaced and normalized.collapse_spaced_letters():
                        entries, _ = pattern_set.match(normalized.skeleton_bytes)
                    view_text = normalized.skeleton
                else:
                    entries, _ = pattern_set.match(normalized.folded_bytes)
                    view_text = normalized.folded
        except Exception as exc:
            for entry in pattern_set.entries:
                for consumer in entry.consumers:
                    run.exception(consumer.program, exc)
            continue
        for entry in entries:
            try:
                found.extend(_extract(entry, view_text, text, offset, normalized))
            except Exception as exc:
                for consumer in entry.consumers:
                    run.exception(consumer.program, exc)
    for program in plan.window_rules:
        try:
            if normalized is None:
                normalized = NormalizedText(chunk)
                normalized.collapse_spaced_letters()
            assert program.kind is not None
            for finding in program.kind.scan_window(program.config, normalized, context):
                start, end = normalized.to_original(finding.start, finding.end)
                found.append(_candidate(program, finding, offset, start, end))
        except Exception as exc:
            run.exception(program, exc)
    return found


def _extract(
    entry: Entry,
    view_text: str,
    text: str,
    offset: int,
    normalized: NormalizedText | None,
) -> Iterable[_Candidate]:
    consumers = entry.consumers
    for match in entry.regex.finditer(view_text):
        start, end = match.span()
        if end <= start:
            continue
        source = ""
        if normalized is not None:
            source = view_text[start:end]
            start, end = normalized.to_original(start, end)
        start += offset
        end += offset
        # Rules sharing a pattern usually share its validator too: validate once per span.
        validated: dict[int, tuple[int, int] | None] = {}
        for consumer in consumers:
            span: tuple[int, int] | None = (start, end)
            validator = consumer.validator
            if validator is not None:
                key = id(validator)
                if key not in validated:
                    validated[key] = validator(text, start, end)
                span = validated[key]
            if span is None:
                continue
            yield _Candidate(
                program=consumer.program,
                start=span[0],
                end=span[1],
                entity=consumer.entity,
                detail=consumer.detail if consumer.detail is not None else _detail(consumer, source),
                priority=consumer.priority,
                placeholder=consumer.placeholder,
            )


def _detail(consumer: Consumer, normalized_match: str) -> str:
    program = consumer.program
    assert program.kind is not None
    return program.kind.describe_match(program.config, consumer.use, normalized_match)


def _candidate(
    program: RuleProgram, finding: Finding, offset: int, start: int | None = None, end: int | None = None
) -> _Candidate:
    """A kind's finding as a candidate hit; `start`/`end` override the finding's offsets."""
    return _Candidate(
        program=program,
        start=(finding.start if start is None else start) + offset,
        end=(finding.end if end is None else end) + offset,
        entity=finding.entity,
        detail=finding.detail,
        priority=finding.priority,
        placeholder=finding.placeholder,
    )


def _resolve(candidates: list[_Candidate]) -> list[_Candidate]:
    """Per rule: drop exact duplicates, and where candidates of different priority overlap
    (a phone pattern inside a card number, a generic high-entropy token that is also a typed
    key), keep only the highest-priority ones of each overlapping cluster. Returns the
    candidates in text order."""
    if len(candidates) <= 1:
        return candidates
    candidates.sort(key=_by_rule_then_position)
    resolved: list[_Candidate] = []
    cluster: list[_Candidate] = []
    cluster_end = -1
    for c in candidates:
        if cluster and (c.program is not cluster[0].program or c.start >= cluster_end):
            resolved.extend(_best_of(cluster))
            cluster = []
        if cluster:
            cluster.append(c)
            cluster_end = max(cluster_end, c.end)
        else:
            cluster = [c]
            cluster_end = c.end
    resolved.extend(_best_of(cluster))
    resolved.sort(key=_by_position)
    return resolved


def _by_rule_then_position(c: _Candidate) -> tuple[int, int, int]:
    return id(c.program), c.start, -c.end


def _by_position(c: _Candidate) -> tuple[int, int]:
    return c.start, c.end


def _best_of(cluster: list[_Candidate]) -> list[_Candidate]:
    if len(cluster) == 1:
        return cluster
    top = max(c.priority for c in cluster)
    seen: set[tuple[int, int, str]] = set()
    kept = []
    for c in cluster:
        key = (c.start, c.end, c.entity)
        if c.priority == top and key not in seen:
            seen.add(key)
            kept.append(c)
    return kept


# --- redaction -------------------------------------------------------------------------------


def _redact_spans(hits: Sequence[Hit], placeholders: Mapping[int, str]) -> list[_Span]:
    return [(h.start, h.end, placeholders[id(h)], h.rule_id) for h in hits if h.action is Action.REDACT]


def _span_position(span: _Span) -> tuple[int, int]:
    return span[0], span[1]


def _redact(text: str, spans: Sequence[_Span]) -> tuple[tuple[Redaction, ...], str]:
    """Replace `spans` (offsets on the original), merging overlaps into one placeholder."""
    ordered = sorted((span for span in spans if span[1] > span[0]), key=_span_position)
    if not ordered:
        return (), text
    merged: list[tuple[int, int, list[_Span]]] = []
    for span in ordered:
        start, end = span[0], span[1]
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), [*last[2], span])
        else:
            merged.append((start, end, [span]))
    out: list[str] = []
    redactions: list[Redaction] = []
    cursor = 0
    out_len = 0
    for start, end, group in merged:
        out.append(text[cursor:start])
        out_len += start - cursor
        names = {span[2] for span in group}
        placeholder = names.pop() if len(names) == 1 else "[REDACTED]"
        out.append(placeholder)
        rule_ids = tuple(dict.fromkeys(span[3] for span in group))
        redactions.append(Redaction(start, end, out_len, out_len + len(placeholder), placeholder, rule_ids))
        out_len += len(placeholder)
        cursor = end
    out.append(text[cursor:])
    return tuple(redactions), "".join(out)


def _out_to_original(pos: int, redactions: Sequence[Redaction], *, end: bool) -> int:
    """Map an offset in the redacted text back to the original text."""
    shift = 0
    for r in redactions:
        if pos < r.out_start:
            break
        if pos < r.out_end or (end and pos == r.out_end):
            return r.end if end else r.start
        shift = r.end - r.out_end
    return pos + shift


# --- tiers 2 and 3 ---------------------------------------------------------------------------


def _model_windows(compiled: CompiledPolicy, model_text: str, redactions: Sequence[Redaction]) -> list[ModelWindow]:
    """Each window of the model tiers' input, with its offsets in the original text."""
    spec = compiled.spec
    windows = []
    for start, end, _owned in _windows(model_text, spec.max_text_chars, spec.window_overlap):
        chunk = model_text if (start == 0 and end == len(model_text)) else model_text[start:end]
        windows.append(
            ModelWindow(
                chunk,
                _out_to_original(start, redactions, end=False),
                _out_to_original(end, redactions, end=True),
            )
        )
    return windows


def _tier_models(
    programs: Sequence[RuleProgram], windows: Sequence[ModelWindow], backends: Backends | None, run: _Run
) -> None:
    """One model tier: each rule in turn assesses the windows, until the check is blocked."""
    for program in programs:
        rule = program.spec
        assert program.kind is not None
        try:
            for found in program.kind.assess(program.config, rule, windows, backends):
                run.hit(
                    Hit(
                        rule_id=rule.id,
                        rule_name=rule.name,
                        kind=program.kind_value,
                        tier=program.tier,
                        action=found.action or rule.action,
                        severity=rule.severity,
                        start=found.start,
                        end=found.end,
                        entity=found.entity,
                        score=found.score,
                        detail=found.detail[:_ERROR_MESSAGE_CHARS],
                    )
                )
                if run.blocked:
                    break
        except Exception as exc:
            run.exception(program, exc, "backend_error")
        if run.blocked:
            return
