"""Plain values that go into and come out of the guard engine.

Everything here is a frozen dataclass or an enum, so the Django layer can build a
`PolicySpec` from rows, hand it over, and store the `CheckResult` it gets back without the
engine knowing anything about the database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class Stage(StrEnum):
    INPUT = "input"
    OUTPUT = "output"
    BOTH = "both"


class Action(StrEnum):
    BLOCK = "block"
    REDACT = "redact"
    FLAG = "flag"
    LOG = "log"


class Decision(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"
    REDACT = "redact"
    FLAG = "flag"


class FailMode(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Tier(IntEnum):
    """Cost order: a tier runs only if nothing in a cheaper tier blocked."""

    RULES = 1
    CLASSIFIER = 2
    LLM_GUARD = 3

    @property
    def label(self) -> str:
        """The tier's name in API responses, envelopes and the admin: rules, classifier, llm_guard."""
        return self.name.lower()


ACTION_DECISION: Mapping[Action, Decision] = {
    Action.BLOCK: Decision.BLOCK,
    Action.REDACT: Decision.REDACT,
    Action.FLAG: Decision.FLAG,
    Action.LOG: Decision.ALLOW,
}
DECISION_RANK: Mapping[Decision, int] = {
    Decision.ALLOW: 0,
    Decision.FLAG: 1,
    Decision.REDACT: 2,
    Decision.BLOCK: 3,
}


def strongest(a: Decision, b: Decision) -> Decision:
    """Decision precedence: block > redact > flag > allow."""
    return a if DECISION_RANK[a] >= DECISION_RANK[b] else b


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule as configured in the admin.

    `kind` is the name of a registered kind (`guardrails.engine.kinds`); it stays a plain
    string so that a rule of a kind this process does not know becomes a guard error at
    check time (with the fail mode applied) instead of a crash at load time.
    `config` is treated as read-only. Enum fields also accept their string values.
    """

    id: int | str
    name: str
    kind: str
    stage: Stage
    action: Action
    severity: Severity
    config: Mapping[str, Any]
    enabled: bool = True
    fail_mode: FailMode | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", Stage(self.stage))
        object.__setattr__(self, "action", Action(self.action))
        object.__setattr__(self, "severity", Severity(self.severity))
        if self.fail_mode is not None:
            object.__setattr__(self, "fail_mode", FailMode(self.fail_mode))
        if not isinstance(self.config, Mapping):
            raise TypeError(f"rule {self.id!r}: config must be a mapping")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, id: int | str | None = None) -> RuleSpec:
        """Build from plain values (a model row's fields, a `DEFAULT_POLICY_RULES` entry):
        enum fields as their strings, ``enabled`` and ``fail_mode`` optional."""
        fail_mode = data.get("fail_mode")
        return cls(
            id=id if id is not None else data["id"],
            name=str(data["name"]),
            kind=str(data["kind"]),
            stage=Stage(data["stage"]),
            action=Action(data["action"]),
            severity=Severity(data["severity"]),
            config=data["config"],
            enabled=bool(data.get("enabled", True)),
            fail_mode=FailMode(fail_mode) if fail_mode else None,
        )

    def applies_to(self, stage: Stage) -> bool:
        return self.stage is Stage.BOTH or self.stage is stage


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A guard policy at one version. The compile cache trusts `(id, version)`: bump the
    version on every change to the policy or any of its rules.

    `storage_rules` never decide anything: they are the redactor for what provenance stores
    (a project that keeps content "redacted"). They join the policy's one tier-1 scan, and
    their matches only produce `CheckResult.stored_input`/`stored_output`, so a check that
    also redacts its record for storage still scans the text once.
    """

    id: int | str
    slug: str
    version: int
    fail_mode: FailMode
    rules: tuple[RuleSpec, ...]
    max_text_chars: int = 65536
    window_overlap: int = 4096
    storage_rules: tuple[RuleSpec, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fail_mode", FailMode(self.fail_mode))
        object.__setattr__(self, "rules", tuple(self.rules))
        object.__setattr__(self, "storage_rules", tuple(self.storage_rules))
        if self.max_text_chars < 1024:
            raise ValueError("max_text_chars must be at least 1024")
        if not 0 <= self.window_overlap <= self.max_text_chars // 2:
            raise ValueError("window_overlap must be between 0 and max_text_chars / 2")


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that matched. `start`/`end` are offsets into the original text; tier-2/3 hits
    cover the window that was scored. A tier-1 `detail` never contains the matched text
    itself (it names the pattern, phrase or detector), so a hit can be stored in an
    envelope without leaking the secret it found; a tier-3 detail carries the judge's
    reason, written by a model that saw the text after tier-1 redaction."""

    rule_id: int | str
    rule_name: str
    kind: str
    tier: Tier
    action: Action
    severity: Severity
    start: int
    end: int
    entity: str
    score: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "kind": self.kind,
            "tier": self.tier.label,
            "action": self.action.value,
            "severity": self.severity.value,
            "start": self.start,
            "end": self.end,
            "entity": self.entity,
            "score": _json_float(self.score),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class GuardErrorRecord:
    """A rule that could not give an answer. Kept apart from hits so that an outage of a
    guard is distinguishable from an attack, even when fail-closed turned it into a block."""

    rule_id: int | str
    rule_name: str
    tier: Tier
    error_code: str
    message: str
    fail_mode_applied: FailMode

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "tier": self.tier.label,
            "error_code": self.error_code,
            "message": self.message,
            "fail_mode_applied": self.fail_mode_applied.value,
        }


@dataclass(frozen=True, slots=True)
class Redaction:
    """One replaced span: `start`/`end` in the original text, `out_start`/`out_end` in the
    returned text. Overlapping redact hits are merged into one redaction."""

    start: int
    end: int
    out_start: int
    out_end: int
    placeholder: str
    rule_ids: tuple[int | str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "out_start": self.out_start,
            "out_end": self.out_end,
            "placeholder": self.placeholder,
            "rule_ids": list(self.rule_ids),
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    decision: Decision
    text: str
    hits: tuple[Hit, ...]
    errors: tuple[GuardErrorRecord, ...]
    policy_id: int | str
    policy_version: int
    latency_ms: Mapping[Tier, float]
    tiers_run: tuple[Tier, ...]
    redactions: tuple[Redaction, ...] = field(default=())
    stage: Stage = Stage.INPUT
    # With storage rules (see `PolicySpec`): the checked text and the returned text with the
    # storage redactor's spans replaced too, from the same scan. None without storage rules,
    # or when one of them failed: then nothing redacted is available and nothing raw may be kept.
    stored_input: str | None = None
    stored_output: str | None = None

    @property
    def blocked(self) -> bool:
        return self.decision is Decision.BLOCK

    @property
    def redacted(self) -> bool:
        return bool(self.redactions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tiers by name) for the API response and the decision envelope.
        It includes the returned text; drop `text` where only a hash may be stored. The
        stored texts are not included (they are for provenance only)."""
        return {
            "decision": self.decision.value,
            "stage": self.stage.value,
            "text": self.text,
            "hits": [h.to_dict() for h in self.hits],
            "errors": [e.to_dict() for e in self.errors],
            "redactions": [r.to_dict() for r in self.redactions],
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "latency_ms": {t.label: round(ms, 3) for t, ms in self.latency_ms.items()},
            "tiers_run": [t.label for t in self.tiers_run],
        }


def _json_float(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return round(value, 6)
