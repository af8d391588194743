"""Speed of the guard engine's tier 1 on a policy of 200 rules, and of a json_schema rule.

    python bench/guard_speed.py [--quick]

A policy of 200 tier-1 rules (regex, phrases, PII and secrets mixed) checks 1 KB, 4 KB and
64 KB texts; the table gives time per check (median and p99) for the engine, for its
normalisation step alone, and for a plain stdlib-``re`` loop over the same patterns on the
raw text (no normalisation, first match only: a lower bound for the naive approach).
Target: tier 1 under 50 µs per 4 KB check.

The ``storage`` section is the engine work of one guard check for a project that stores content
redacted, with the default policy: before, the check plus the provenance redactor run on each
string of the envelope (the text, the stage, the decision and the returned text: 5 engine
passes); now one pass with the redactor's rules compiled into the policy (storage rules).

The ``json_schema`` section checks model outputs against a realistic output schema with a
json_schema rule (the bounded, RE2-backed validator) and, for comparison, with a plain
``jsonschema`` validator on Python's ``re`` (what the rule used before: unbounded, and
exponential on a pattern like ``^(a+)+$``).

The table is built from sections; each returns rows, so an ``--api-url`` section timing the
HTTP endpoint end to end can be added next to the engine one.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guardrails.engine import (
    DEFAULT_POLICY_RULES,
    DEFAULT_REDACTION_RULES,
    CompiledPolicy,
    FailMode,
    PolicySpec,
    RuleSpec,
    check,
    compile_policy,
    normalize,
)
from guardrails.engine.detectors import (
    PII_DETECTORS,
    SECRET_DETECTORS,
    entropy_pattern,
)
from guardrails.engine.phrases import phrase_pattern

OUTPUT_SCHEMA = {
    "type": "object",
    "required": ["answer", "confidence", "citations"],
    "additionalProperties": False,
    "properties": {
        "answer": {"type": "string", "maxLength": 4000},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "language": {"enum": ["en", "de", "fr", "es"]},
        "citations": {
            "type": "array",
            "maxItems": 200,
            "items": {
                "type": "object",
                "required": ["doc_id", "url"],
                "properties": {
                    "doc_id": {"type": "string", "pattern": "^DOC-[0-9]{4,8}$"},
                    "url": {"type": "string", "pattern": "^https://[a-z0-9.-]+/"},
                    "quote": {"type": "string"},
                },
            },
        },
    },
}

_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "you",
    "that",
    "it",
    "was",
    "for",
    "on",
    "are",
    "as",
    "with",
    "his",
    "they",
    "at",
    "be",
    "this",
    "from",
    "have",
    "or",
    "by",
    "one",
    "had",
    "not",
    "but",
    "what",
    "all",
    "were",
    "when",
    "we",
    "there",
    "can",
    "an",
    "your",
    "which",
    "their",
    "said",
    "if",
    "do",
    "will",
    "each",
    "about",
    "how",
    "up",
    "out",
    "them",
    "then",
    "she",
    "many",
    "some",
    "so",
    "these",
    "would",
    "other",
    "into",
    "has",
    "more",
    "her",
    "two",
    "like",
    "him",
    "see",
    "time",
    "could",
    "no",
    "make",
    "than",
    "first",
    "been",
    "its",
    "who",
    "now",
    "people",
    "my",
    "made",
    "over",
    "did",
    "down",
    "only",
    "way",
    "find",
    "use",
    "may",
    "water",
    "long",
    "little",
    "very",
    "after",
    "words",
    "called",
    "just",
    "where",
    "most",
    "know",
    "report",
    "customer",
    "order",
    "invoice",
    "delivery",
    "account",
    "meeting",
    "project",
    "budget",
    "release",
    "server",
    "database",
    "network",
    "schedule",
]


@dataclass(frozen=True)
class Row:
    section: str
    what: str
    size: str
    n: int
    median_us: float
    p99_us: float


def _timeit(fn: Callable[[], object], n: int) -> tuple[float, float]:
    for _ in range(min(n, 20)):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return statistics.median(samples), p99


# --- the 200-rule policy -----------------------------------------------------------------------


def bench_rules(seed: int = 1) -> tuple[RuleSpec, ...]:
    rng = random.Random(seed)
    rules: list[RuleSpec] = []

    def add(kind: str, config: dict[str, object]) -> None:
        n = len(rules)
        rules.append(
            RuleSpec.from_dict(
                {
                    "name": f"{kind} {n}",
                    "kind": kind,
                    "stage": "input",
                    "action": "flag",
                    "severity": "low",
                    "config": config,
                },
                id=n,
            )
        )

    for i in range(100):
        word = rng.choice(_WORDS) + rng.choice(_WORDS)
        patterns = [
            rf"\b{word}[-_ ]?{i}\d{{2,4}}\b",
            rf"\b(?:ticket|case|ref)[-# ]?{chr(65 + i % 26)}{rng.randint(10, 99)}-\d{{3,6}}\b",
        ]
        if i % 3 == 0:
            patterns.append(rf"\binternal[-_ ]only[-_ ]{word}\b")
        add("regex", {"patterns": patterns, "case_sensitive": bool(i % 2)})
    for _ in range(70):
        phrases = [
            " ".join(rng.choice(_WORDS) for _ in range(2)) + " " + rng.choice(["zq", "xv", "kj"]) + rng.choice(_WORDS)
            for _ in range(rng.randint(5, 20))
        ]
        add("phrases", {"phrases": phrases, "match": rng.choice(["word", "substring"])})
    pii_keys = [d.key for d in PII_DETECTORS]
    for _ in range(15):
        add("pii", {"entities": {k: rng.random() < 0.7 or k == "email" for k in pii_keys}})
    secret_keys = [d.key for d in SECRET_DETECTORS] + ["high_entropy"]
    for _ in range(15):
        add(
            "secrets",
            {
                "detectors": {k: rng.random() < 0.7 or k == "high_entropy" for k in secret_keys},
                "min_length": rng.choice([20, 24, 32]),
            },
        )
    return tuple(rules)


def bench_policy() -> CompiledPolicy:
    spec = PolicySpec(id="bench", slug="bench", version=1, fail_mode=FailMode.OPEN, rules=bench_rules())
    compiled = compile_policy(spec, cache=False)
    assert not compiled.compile_errors, compiled.compile_errors
    return compiled


def stdlib_patterns(rules: Sequence[RuleSpec]) -> list[re.Pattern[str]]:
    """The same rules as one stdlib pattern per RE2 set entry (what a naive engine loops over)."""
    sources: list[str] = []
    for rule in rules:
        config = rule.config
        if rule.kind == "regex":
            flags = "" if config.get("case_sensitive") else "(?i)"
            sources.extend(flags + p for p in config["patterns"])
        elif rule.kind == "phrases":
            word = config.get("match") != "substring"
            alternatives = [p for p in (phrase_pattern(x, word=word) for x in config["phrases"]) if p]
            sources.append("(?:" + "|".join(alternatives) + ")")
        elif rule.kind == "pii":
            enabled = {k for k, v in config["entities"].items() if v}
            sources.extend(p for d in PII_DETECTORS if d.key in enabled for p in d.patterns)
        elif rule.kind == "secrets":
            enabled = {k for k, v in config["detectors"].items() if v}
            sources.extend(p for d in SECRET_DETECTORS if d.key in enabled for p in d.patterns)
            if "high_entropy" in enabled:
                sources.append(entropy_pattern(config["min_length"]))
    return [re.compile(_stdlib_syntax(s)) for s in dict.fromkeys(sources)]


def _stdlib_syntax(pattern: str) -> str:
    """RE2's Unicode classes in stdlib spelling (close enough for a timing baseline)."""
    pattern = pattern.replace(r"[\pL\pN", r"[\w")
    return pattern.replace(r"\pL", r"[^\W\d_]").replace(r"\pN", r"\d")


# --- texts -------------------------------------------------------------------------------------


def bench_text(size: int, *, unicode: bool = False, emails: bool = False, seed: int = 2) -> str:
    """Ordinary prose with order numbers and dates; `unicode` adds curly quotes, accents and
    dashes (about 4 % of the words), `emails` one address per ~100 words, which every PII
    rule of the bench policy reports (so that row measures the cost of hits)."""
    rng = random.Random(seed + size)
    parts: list[str] = []
    length = 0
    while length < size:
        roll = rng.random()
        if emails and roll < 0.01:
            part = f"Contact {rng.choice(_WORDS)}.{rng.choice(_WORDS)}@example.com today."
        elif roll < 0.02:
            part = (
                f"Order {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} shipped on 2024-05-{rng.randint(10, 28)}."
            )
        elif unicode and roll < 0.06:
            part = rng.choice(["\u201cquoted\u201d", "it\u2019s", "café", "naïve", "—", "Zürich", "10 €"])
        else:
            part = rng.choice(_WORDS)
        parts.append(part)
        length += len(part) + 1
    return " ".join(parts)[:size]


# --- sections ----------------------------------------------------------------------------------


def engine_section(quick: bool) -> list[Row]:
    started = time.perf_counter()
    compiled = bench_policy()
    compile_ms = (time.perf_counter() - started) * 1000
    print(f"compiled 200 rules in {compile_ms:.0f} ms")
    naive = stdlib_patterns(compiled.spec.rules)
    scale = 0.1 if quick else 1.0
    rows: list[Row] = []
    plans = [
        ("1 KB", 1024, False, False, 5000, 40),
        ("4 KB", 4096, False, False, 5000, 20),
        ("4 KB non-ASCII", 4096, True, False, 3000, 20),
        ("4 KB + emails", 4096, False, True, 2000, 20),
        ("64 KB", 65536, False, False, 400, 3),
    ]
    for label, size, unicode, emails, n_engine, n_naive in plans:
        text = bench_text(size, unicode=unicode, emails=emails)
        hits = len(check(compiled, text=text, stage="input").hits)
        label = f"{label} ({hits} hits)"
        n = max(20, int(n_engine * scale))
        med, p99 = _timeit(functools.partial(check, compiled, text=text, stage="input"), n)
        rows.append(Row("engine", "check() tier 1", label, n, med, p99))
        med, p99 = _timeit(functools.partial(normalize, text), n)
        rows.append(Row("engine", "  normalize() alone", label, n, med, p99))
        n = max(2, int(n_naive * scale))
        med, p99 = _timeit(functools.partial(_naive_loop, naive, text), n)
        rows.append(Row("engine", f"stdlib re loop ({len(naive)} patterns)", label, n, med, p99))
    return rows


def storage_section(quick: bool) -> list[Row]:
    rules = tuple(RuleSpec.from_dict(rule, id=n) for n, rule in enumerate(DEFAULT_POLICY_RULES, start=1))
    plain = compile_policy(PolicySpec(id="default", slug="default", version=1, fail_mode=FailMode.OPEN, rules=rules))
    with_storage = compile_policy(
        PolicySpec(
            id="default+storage",
            slug="default",
            version=1,
            fail_mode=FailMode.OPEN,
            rules=rules,
            storage_rules=DEFAULT_REDACTION_RULES,
        )
    )
    redactor = compile_policy(
        PolicySpec(id="redactor", slug="redactor", version=1, fail_mode=FailMode.CLOSED, rules=DEFAULT_REDACTION_RULES)
    )

    def before(text: str, stage: str) -> None:
        result = check(plain, text=text, stage=stage)
        for value in (text, stage, result.decision.value, result.text):  # the old envelope's strings
            check(redactor, text=value, stage="output")

    def after(text: str, stage: str) -> None:
        check(with_storage, text=text, stage=stage)

    scale = 0.1 if quick else 1.0
    rows: list[Row] = []
    for stage in ("input", "output"):
        for size in (1024, 4096):
            text = bench_text(size, emails=True)
            label = f"{stage} {size // 1024} KB + emails"
            n = max(20, int(2000 * scale))
            med, p99 = _timeit(functools.partial(before, text, stage), n)
            rows.append(Row("storage", "check + redactor x4 (before)", label, n, med, p99))
            med, p99 = _timeit(functools.partial(after, text, stage), n)
            rows.append(Row("storage", "check with storage rules (now)", label, n, med, p99))
    return rows


def json_schema_section(quick: bool) -> list[Row]:
    import jsonschema

    rule = RuleSpec(
        id=1,
        name="output shape",
        kind="json_schema",
        stage="output",  # type: ignore[arg-type]
        action="block",  # type: ignore[arg-type]
        severity="high",  # type: ignore[arg-type]
        config={"schema": OUTPUT_SCHEMA},
    )
    compiled = compile_policy(PolicySpec(id="js", slug="js", version=1, fail_mode=FailMode.OPEN, rules=(rule,)))
    assert not compiled.compile_errors, compiled.compile_errors
    plain = jsonschema.Draft202012Validator(OUTPUT_SCHEMA)
    scale = 0.1 if quick else 1.0
    rows: list[Row] = []
    for n_citations, n in ((2, 3000), (100, 300)):
        citation = {"doc_id": "DOC-123456", "url": "https://docs.example.com/a/b", "quote": "the of and to in " * 3}
        document = {
            "answer": "It depends. " * 20,
            "confidence": 0.8,
            "language": "en",
            "citations": [citation] * n_citations,
        }
        text = json.dumps(document)
        assert not check(compiled, text=text, stage="output").hits
        label = f"{len(text) / 1024:.1f} KB, {n_citations} citations"
        n = max(20, int(n * scale))
        med, p99 = _timeit(functools.partial(check, compiled, text=text, stage="output"), n)
        rows.append(Row("json", "check() json_schema rule (RE2)", label, n, med, p99))
        med, p99 = _timeit(lambda t=text: list(plain.iter_errors(json.loads(t))), n)  # type: ignore[misc]
        rows.append(Row("json", "  plain jsonschema (Python re)", label, n, med, p99))
    evil_rule = RuleSpec(
        id=2,
        name="evil",
        kind="json_schema",
        stage="output",  # type: ignore[arg-type]
        action="block",  # type: ignore[arg-type]
        severity="high",  # type: ignore[arg-type]
        config={"schema": {"properties": {"a": {"type": "string", "pattern": "^(a+)+$"}}}},
    )
    evil = compile_policy(PolicySpec(id="evil", slug="evil", version=1, fail_mode=FailMode.OPEN, rules=(evil_rule,)))
    evil_plain = jsonschema.Draft202012Validator(evil_rule.config["schema"])
    for letters in (16, 20, 22):
        text = json.dumps({"a": "a" * letters + "!"})
        label = f"^(a+)+$ vs {letters} a's + !"
        med, p99 = _timeit(functools.partial(check, evil, text=text, stage="output"), 200)
        rows.append(Row("json", "check() json_schema rule (RE2)", label, 200, med, p99))
        med, p99 = _timeit(lambda t=text: list(evil_plain.iter_errors(json.loads(t))), 3)  # type: ignore[misc]
        rows.append(Row("json", "  plain jsonschema (Python re)", label, 3, med, p99))
    return rows


def _naive_loop(patterns: Sequence[re.Pattern[str]], text: str) -> list[re.Match[str] | None]:
    return [p.search(text) for p in patterns]


def print_table(rows: Sequence[Row]) -> None:
    header = f"{'section':<8} {'what':<34} {'text':<24} {'n':>6} {'median µs':>10} {'p99 µs':>10}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r.section:<8} {r.what:<34} {r.size:<24} {r.n:>6} {r.median_us:>10.1f} {r.p99_us:>10.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the iterations")
    args = parser.parse_args(argv)
    rows = engine_section(args.quick) + storage_section(args.quick) + json_schema_section(args.quick)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
