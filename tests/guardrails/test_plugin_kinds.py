"""Rule kinds are plug-ins: two kinds defined in this file alone (a tier-1 kind with patterns
and a Python scan, and a tier-2 kind) register, validate, show in the admin, and run end to
end through ``POST /api/v1/guard/check``, with no edit anywhere else."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from guardrails.engine import KINDS, RuleSpec, Tier, clear_cache
from guardrails.engine.kinds import Assessment, Finding, ModelWindow, PatternUse, RuleKind, View
from guardrails.models import GuardRule
from guardrails.services import policy_create

pytestmark = pytest.mark.django_db


@dataclass(frozen=True, slots=True)
class ShoutingConfig:
    max_ratio: float
    ticket_prefix: str


class ShoutingKind(RuleKind[ShoutingConfig]):
    """Flags text that is mostly capital letters, and ticket ids like ``TCK-12345``."""

    name = "test_shouting"
    label = "Shouting (test plug-in)"
    scans_text = True

    def config_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "title": "Shouting",
            "properties": {
                "max_ratio": {"type": "number", "minimum": 0, "maximum": 1},
                "ticket_prefix": {"type": "string", "pattern": "^[A-Z]{2,5}$", "default": "TCK"},
            },
            "required": ["max_ratio"],
            "additionalProperties": False,
        }

    def validate(self, config: Mapping[str, Any]) -> list[str]:
        return ["max_ratio: 0 would flag every text"] if config["max_ratio"] == 0 else []

    def compile(self, config: Mapping[str, Any]) -> ShoutingConfig:
        return ShoutingConfig(max_ratio=float(config["max_ratio"]), ticket_prefix=config.get("ticket_prefix", "TCK"))

    def patterns(self, compiled: ShoutingConfig) -> Iterable[PatternUse]:
        yield PatternUse(View.RAW, rf"\b{compiled.ticket_prefix}-\d{{5}}\b", "TICKET", "[TICKET]", "ticket id")

    def scan_text(self, compiled: ShoutingConfig, text: str, context: Mapping[str, Any]) -> Iterable[Finding]:
        letters = [c for c in text if c.isalpha()]
        ratio = sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
        if ratio > compiled.max_ratio:
            return [Finding(0, len(text), "SHOUTING", f"{ratio:.0%} capitals > {compiled.max_ratio:.0%}", "[...]")]
        return []


@dataclass(frozen=True, slots=True)
class LengthScoreConfig:
    threshold: float


class LengthScoreKind(RuleKind[LengthScoreConfig]):
    """A tier-2 kind that scores windows itself (no backend): longer windows score higher."""

    name = "test_length_score"
    label = "Length score (test plug-in)"
    tier = Tier.CLASSIFIER
    has_span = False

    def config_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"threshold": {"type": "number", "minimum": 0, "maximum": 1}},
            "additionalProperties": False,
        }

    def compile(self, config: Mapping[str, Any]) -> LengthScoreConfig:
        return LengthScoreConfig(threshold=float(config.get("threshold", 0.5)))

    def assess(
        self, compiled: LengthScoreConfig, rule: RuleSpec, windows: Sequence[ModelWindow], backends: Any
    ) -> Iterator[Assessment]:
        for window in windows:
            score = min(1.0, len(window.text) / 100)
            if score >= compiled.threshold:
                yield Assessment(window.start, window.end, "LONG", score, f"score {score:.2f}")


@pytest.fixture
def plugin_kinds():
    for kind in (ShoutingKind(), LengthScoreKind()):
        KINDS.register(kind)
    clear_cache()
    yield
    KINDS.unregister(ShoutingKind.name)
    KINDS.unregister(LengthScoreKind.name)
    clear_cache()


def _check(persona, text, policy="plugins"):
    response = persona.client().post(
        "/api/v1/guard/check", {"policy": policy, "stage": "input", "text": text}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_plugin_kinds_run_end_to_end_through_the_api(plugin_kinds, alice, alice_project):
    policy_create(
        project=alice_project,
        slug="plugins",
        name="Plug-in kinds",
        rules=[
            {"name": "no shouting", "kind": "test_shouting", "stage": "input", "action": "redact",
             "severity": "low", "config": {"max_ratio": 0.6}},
            {"name": "too long", "kind": "test_length_score", "stage": "input", "action": "flag",
             "severity": "medium", "config": {"threshold": 0.9}},
        ],
    )  # fmt: skip

    calm = _check(alice, "Please look at ticket TCK-12345 when you can.")
    assert calm["decision"] == "redact"
    assert calm["text"] == "Please look at ticket [TICKET] when you can."
    [ticket] = calm["hits"]
    assert (ticket["kind"], ticket["entity"], ticket["tier"], ticket["detail"]) == (
        "test_shouting",
        "TICKET",
        "rules",
        "ticket id",
    )

    loud = _check(alice, "WHY IS THIS NOT WORKING")
    assert loud["decision"] == "redact"
    assert loud["text"] == "[...]"
    assert loud["hits"][0]["entity"] == "SHOUTING"

    long_text = "a calm and ordinary sentence " * 4
    flagged = _check(alice, long_text)
    assert flagged["decision"] == "flag"
    [hit] = flagged["hits"]
    assert (hit["kind"], hit["tier"], hit["entity"], hit["score"]) == ("test_length_score", "classifier", "LONG", 1.0)
    assert set(flagged["latency_ms"]) == {"rules", "classifier"}


def test_plugin_kind_configs_are_validated_by_the_kind(plugin_kinds, alice_project):
    from governance.errors import ArbiterError

    with pytest.raises(ArbiterError) as schema_error:
        policy_create(
            project=alice_project, slug="bad-a", name="bad",
            rules=[{"name": "r", "kind": "test_shouting", "config": {"max_ratio": 2}}],
        )  # fmt: skip
    assert "max_ratio" in str(schema_error.value.detail)
    with pytest.raises(ArbiterError) as kind_error:
        policy_create(
            project=alice_project, slug="bad-b", name="bad",
            rules=[{"name": "r", "kind": "test_shouting", "config": {"max_ratio": 0}}],
        )  # fmt: skip
    assert "would flag every text" in str(kind_error.value.detail)
    with pytest.raises(ArbiterError) as span_error:
        policy_create(
            project=alice_project, slug="bad-c", name="bad",
            rules=[{"name": "r", "kind": "test_length_score", "action": "redact", "config": {}}],
        )  # fmt: skip
    assert "no span to redact" in str(span_error.value.detail)


def test_the_admin_offers_registered_kinds_and_their_config_form(plugin_kinds, admin_client, alice_project):
    response = admin_client.get(reverse("admin:guardrails_guardrule_add") + "?kind=test_shouting")
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert ("test_shouting", "Shouting (test plug-in) — tier 1") in form.fields["kind"].choices
    assert "max_ratio" in form.fields["config"].widget.get_schema()["properties"]


def test_an_unregistered_kind_is_refused_at_save(alice_project):
    rule = GuardRule(policy=alice_project.guard_policies.get(slug="default"), name="x", kind="telepathy", config={})
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "Unknown rule kind 'telepathy'" in str(error.value.message_dict["kind"])


def test_a_rule_whose_kind_is_gone_is_a_guard_error_under_its_fail_mode(plugin_kinds, alice, alice_project):
    policy_create(
        project=alice_project, slug="plugins", name="Plug-in kinds",
        rules=[{"name": "no shouting", "kind": "test_shouting", "fail_mode": "closed", "config": {"max_ratio": 0.6}}],
    )  # fmt: skip
    KINDS.unregister(ShoutingKind.name)  # e.g. a deploy without the plug-in
    clear_cache()
    body = _check(alice, "hello")
    assert body["decision"] == "block"
    assert [(e["rule_name"], e["error_code"], e["fail_mode_applied"]) for e in body["errors"]] == [
        ("no shouting", "invalid_config", "closed")
    ]
