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
be cut. Validators always see the whole text around a candidate. ``length`` and
``json_schema`` rules look at the whole text at once.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

from guardrails.engine.backends import Backends, is_timeout
from guardrails.engine.compiler import (
    RAW,
    SKELETON,
    CompiledPolicy,
    Consumer,
    Entry,
    RuleProgram,
    StagePlan,
    re2_options,
)
from guardrails.engine.leak import LeakIndex
from guardrails.engine.normalize import NormalizedText
from guardrails.engine.phrases import phrase_key, phrase_pattern
from guardrails.engine.types import (
    ACTION_DECISION,
    Action,
    CheckResult,
    Decision,
    FailMode,
    GuardErrorRecord,
    Hit,
    Redaction,
    RuleKind,
    Stage,
    Tier,
    strongest,
)

__all__ = ["ABSOLUTE_MAX_CHARS", "TextTooLarge", "check", "parse_verdict"]

ABSOLUTE_MAX_CHARS = 1_000_000
_WHITESPACE_LOOKBACK = 256
_ERROR_MESSAGE_CHARS = 300


class TextTooLarge(ValueError):
    """The text is over the absolute cap; the API answers 413 (or 400) without checking."""

    def __init__(self, length: int, limit: int = ABSOLUTE_MAX_CHARS) -> None:
        super().__init__(f"text is {length} characters; the limit is {limit}")
        self.length = length
        self.limit = limit


class InvalidVerdict(ValueError):
    """The LLM judge answered something that is not a valid verdict."""


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
    """Accumulates one check's hits, errors and decision."""

    __slots__ = ("decision", "error_keys", "errors", "hits", "placeholders")

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.placeholders: dict[int, str] = {}  # id(hit) → redaction placeholder
        self.errors: list[GuardErrorRecord] = []
        self.error_keys: set[tuple[int | str, str]] = set()
        self.decision = Decision.ALLOW

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
        if is_timeout(exc):
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

    if plan.has_rules_tier:
        started = time.perf_counter_ns()
        try:
            _tier_rules(compiled, plan, text, context, run)
            redactions, out_text = _redact(text, run.hits, run.placeholders)
        except Exception as exc:  # an engine bug must not take the request down either
            for program in _rule_programs(plan):
                run.exception(program, exc, "engine_error")
            redactions, out_text = (), text
        latency[Tier.RULES] = _ms(started)
        tiers_run.append(Tier.RULES)

    # Tiers 2 and 3 see the text after tier-1 redaction: a remote model gets no secrets.
    if plan.classifiers and not run.blocked:
        started = time.perf_counter_ns()
        try:
            _tier_classifier(compiled, plan, out_text, redactions, backends, run)
        except Exception as exc:
            for program in plan.classifiers:
                run.exception(program, exc, "engine_error")
        latency[Tier.CLASSIFIER] = _ms(started)
        tiers_run.append(Tier.CLASSIFIER)
    if plan.judges and not run.blocked:
        started = time.perf_counter_ns()
        try:
            _tier_judge(compiled, plan, out_text, redactions, backends, run)
        except Exception as exc:
            for program in plan.judges:
                run.exception(program, exc, "engine_error")
        latency[Tier.LLM_GUARD] = _ms(started)
        tiers_run.append(Tier.LLM_GUARD)

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
    )


def _rule_programs(plan: StagePlan) -> list[RuleProgram]:
    programs = {id(p): p for p, _ in plan.broken}
    for pattern_set in plan.sets:
        for entry in pattern_set.entries:
            programs.update((id(c.program), c.program) for c in entry.consumers)
    programs.update((id(p), p) for p in (*plan.window_rules, *plan.whole_rules))
    return list(programs.values())


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
            candidates.extend(_whole_rule(program, text))
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
            if program.kind is RuleKind.PROMPT_LEAK:
                found.extend(_prompt_leak(program, normalized, offset, context))
            elif program.kind is RuleKind.CANARY:
                found.extend(_context_canaries(program, normalized, offset, context))
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
    if program.kind is RuleKind.PHRASES:
        label = program.labels.get(phrase_key(normalized_match))
        if label is None:
            for template_label, regex in program.data.get("templates", ()):
                if regex.fullmatch(normalized_match) is not None:
                    label = template_label
                    break
        return label or "phrase"
    if program.kind is RuleKind.CANARY:
        return program.labels.get(phrase_key(normalized_match), "canary token")
    if program.kind is RuleKind.REGEX:
        return consumer.label
    return f"{consumer.label} ({consumer.entity})"


@lru_cache(maxsize=64)
def _leak_index(prompt: str, n: int) -> LeakIndex:
    return LeakIndex.build(prompt, n)


def _prompt_leak(
    program: RuleProgram, normalized: NormalizedText, offset: int, context: Mapping[str, Any]
) -> list[_Candidate]:
    index: LeakIndex | None = program.data["index"]
    if index is None:
        prompt = context.get("system_prompt")
        if not isinstance(prompt, str) or not prompt:
            return []
        index = _leak_index(prompt, program.data["n"])
    match = index.find(normalized)
    if match is None:
        return []
    ratio = program.data["ratio"]
    if ratio is not None and match.ratio < ratio:
        return []
    detail = f"{match.words} consecutive words of the system prompt ({match.ratio:.0%} of it)"
    found = []
    for start, end in match.spans:
        start, end = normalized.to_original(start, end)
        found.append(_Candidate(program, start + offset, end + offset, "SYSTEM_PROMPT", detail, 1, program.placeholder))
    return found


def _context_canaries(
    program: RuleProgram, normalized: NormalizedText, offset: int, context: Mapping[str, Any]
) -> list[_Candidate]:
    tokens = context.get("canary_tokens")
    if not tokens or isinstance(tokens, str | bytes):
        return []
    found = []
    for token in tokens:
        pattern = phrase_pattern(str(token), word=False) if token else None
        if pattern is None:
            continue
        regex: Any = re2.compile(pattern, re2_options())
        for match in regex.finditer(normalized.skeleton):
            start, end = normalized.to_original(*match.span())
            found.append(
                _Candidate(
                    program,
                    start + offset,
                    end + offset,
                    "CANARY",
                    "canary token from the request context",
                    1,
                    program.placeholder,
                )
            )
    return found


def _whole_rule(program: RuleProgram, text: str) -> list[_Candidate]:
    if program.kind is RuleKind.LENGTH:
        return _length(program, text)
    return _json_schema(program, text)


def _length(program: RuleProgram, text: str) -> list[_Candidate]:
    max_chars = program.data["max_chars"]
    max_lines = program.data["max_lines"]
    starts: list[tuple[int, str]] = []
    if max_chars is not None and len(text) > max_chars:
        starts.append((max_chars, f"{len(text)} characters > {max_chars}"))
    if max_lines is not None:
        lines = text.count("\n") + 1 if text else 0
        if lines > max_lines:
            cut = -1
            for _ in range(max_lines):
                cut = text.index("\n", cut + 1)
            starts.append((cut + 1, f"{lines} lines > {max_lines}"))
    if not starts:
        return []
    start, detail = min(starts)
    return [_Candidate(program, start, len(text), "LENGTH", detail, 1, program.placeholder)]


def _strip_fence(body: str) -> str:
    stripped = body.strip()
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) >= 6:
        first_newline = stripped.find("\n")
        if first_newline != -1:
            return stripped[first_newline + 1 : -3]
    return body


def _json_schema(program: RuleProgram, text: str) -> list[_Candidate]:
    body = _strip_fence(text) if program.data["strip_code_fence"] else text
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        detail = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        return [_Candidate(program, 0, len(text), "JSON", detail, 1, program.placeholder)]
    error = next(iter(sorted(program.data["validator"].iter_errors(document), key=_error_order)), None)
    if error is None:
        return []
    where = "/" + "/".join(str(p) for p in error.absolute_path)
    # The schema keyword and its value come from the schema, never from the output.
    expected = json.dumps(error.validator_value, default=str)[:200]
    detail = f"does not conform to the schema at {where}: {error.validator} {expected}"
    return [_Candidate(program, 0, len(text), "JSON", detail, 1, program.placeholder)]


def _error_order(error: Any) -> tuple[int, list[str]]:
    return len(error.absolute_path), [str(p) for p in error.absolute_path]


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


def _redact(text: str, hits: Sequence[Hit], placeholders: Mapping[int, str]) -> tuple[tuple[Redaction, ...], str]:
    """Replace the spans of redact hits, merging overlaps (offsets are on the original)."""
    spans = sorted((h.start, h.end, h) for h in hits if h.action is Action.REDACT and h.end > h.start)
    if not spans:
        return (), text
    merged: list[tuple[int, int, list[Hit]]] = []
    for start, end, hit in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), [*last[2], hit])
        else:
            merged.append((start, end, [hit]))
    out: list[str] = []
    redactions: list[Redaction] = []
    cursor = 0
    out_len = 0
    for start, end, group in merged:
        out.append(text[cursor:start])
        out_len += start - cursor
        names = {placeholders[id(h)] for h in group}
        placeholder = names.pop() if len(names) == 1 else "[REDACTED]"
        out.append(placeholder)
        rule_ids = tuple(dict.fromkeys(h.rule_id for h in group))
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


def _model_windows(
    compiled: CompiledPolicy, model_text: str, redactions: Sequence[Redaction]
) -> list[tuple[str, int, int]]:
    """(window text, original start, original end) for each window of the model's input."""
    spec = compiled.spec
    windows = []
    for start, end, _owned in _windows(model_text, spec.max_text_chars, spec.window_overlap):
        chunk = model_text if (start == 0 and end == len(model_text)) else model_text[start:end]
        windows.append(
            (
                chunk,
                _out_to_original(start, redactions, end=False),
                _out_to_original(end, redactions, end=True),
            )
        )
    return windows


def _valid_score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidVerdict(f"score must be a number, got {type(value).__name__}")
    score = float(value)
    if math.isnan(score) or not 0.0 <= score <= 1.0:
        raise InvalidVerdict(f"score must be between 0 and 1, got {score!r}")
    return score


def _tier_classifier(
    compiled: CompiledPolicy,
    plan: StagePlan,
    model_text: str,
    redactions: Sequence[Redaction],
    backends: Backends | None,
    run: _Run,
) -> None:
    windows = _model_windows(compiled, model_text, redactions)
    for program in plan.classifiers:
        rule = program.spec
        backend = backends.classifier_for(rule) if backends is not None else None
        if backend is None:
            name = rule.config.get("backend", "remote")
            run.error(program, "backend_missing", f"no classifier backend {name!r} was provided")
        else:
            _classify(program, backend, windows, run)
        if run.blocked:
            return


def _classify(program: RuleProgram, backend: Any, windows: Sequence[tuple[str, int, int]], run: _Run) -> None:
    threshold: float = program.data["threshold"]
    best: tuple[float, int, int] | None = None
    for chunk, start, end in windows:
        try:
            score = _valid_score(backend.score(chunk, program.spec))
        except InvalidVerdict as exc:
            run.error(program, "invalid_score", str(exc))
            return
        except Exception as exc:
            run.exception(program, exc, "backend_error")
            return
        if best is None or score > best[0]:
            best = (score, start, end)
        if score >= threshold:
            break
    if best is None or best[0] < threshold:
        return
    score, start, end = best
    rule = program.spec
    run.hit(
        Hit(
            rule_id=rule.id,
            rule_name=rule.name,
            kind=program.kind_value,
            tier=Tier.CLASSIFIER,
            action=rule.action,
            severity=rule.severity,
            start=start,
            end=end,
            entity=str(program.data.get("label") or "INJECTION"),
            score=score,
            detail=f"score {score:.3f} >= threshold {threshold:g}",
        )
    )


def parse_verdict(raw: Any) -> tuple[str, float, str]:
    """Validate an LLM judge's answer: ``(verdict, score, reason)`` or `InvalidVerdict`.

    Accepts the parsed mapping, or the raw JSON text (a ```json fence is tolerated)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str):
        try:
            raw = json.loads(_strip_fence(raw))
        except json.JSONDecodeError as exc:
            raise InvalidVerdict(f"verdict is not JSON: {exc.msg}") from exc
    if not isinstance(raw, Mapping):
        raise InvalidVerdict(f"verdict must be a JSON object, got {type(raw).__name__}")
    verdict = raw.get("verdict")
    if not isinstance(verdict, str) or verdict.strip().lower() not in ("block", "allow", "flag"):
        raise InvalidVerdict(f"verdict must be block, allow or flag, got {verdict!r}"[:200])
    reason = raw.get("reason", "")
    if not isinstance(reason, str):
        raise InvalidVerdict("reason must be a string")
    return verdict.strip().lower(), _valid_score(raw.get("score")), reason


def _tier_judge(
    compiled: CompiledPolicy,
    plan: StagePlan,
    model_text: str,
    redactions: Sequence[Redaction],
    backends: Backends | None,
    run: _Run,
) -> None:
    judge = backends.llm_judge if backends is not None else None
    windows = _model_windows(compiled, model_text, redactions)
    for program in plan.judges:
        if judge is None:
            run.error(program, "backend_missing", "no LLM judge was provided")
        else:
            _judge(program, judge, windows, run)
        if run.blocked:
            return


def _judge(program: RuleProgram, judge: Any, windows: Sequence[tuple[str, int, int]], run: _Run) -> None:
    threshold: float = program.data["threshold"]
    rule = program.spec
    for chunk, start, end in windows:
        try:
            verdict, score, reason = parse_verdict(judge.judge(chunk, rule))
        except (InvalidVerdict, json.JSONDecodeError) as exc:
            # A judge that parses the model's answer itself fails with JSONDecodeError.
            run.error(program, "invalid_verdict", str(exc))
            return
        except Exception as exc:
            run.exception(program, exc, "backend_error")
            return
        if verdict == "allow":
            continue
        # A block verdict the judge is not sure about goes to review instead of blocking.
        action = rule.action if verdict == "block" and score >= threshold else Action.FLAG
        run.hit(
            Hit(
                rule_id=rule.id,
                rule_name=rule.name,
                kind=program.kind_value,
                tier=Tier.LLM_GUARD,
                action=action,
                severity=rule.severity,
                start=start,
                end=end,
                entity="LLM_VERDICT",
                score=score,
                detail=f"verdict {verdict} (score {score:.2f}): {reason}"[:_ERROR_MESSAGE_CHARS],
            )
        )
        if run.blocked:
            return
