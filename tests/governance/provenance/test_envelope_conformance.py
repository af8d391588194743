"""The core's own envelope writers conform to the published schema (issue 8, item 5): envelopes
ingested through ``POST /api/v1/envelopes`` (minimal and full) and review corrections
(``review_override``) made by an operator or by a key. Guard checks are in
``tests/guardrails/test_envelope_conformance.py``; each later app checks its own kinds with
``tests.support.envelopes.assert_envelopes_conform``."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from governance.models import DecisionEnvelope
from governance.services.reviews import review_append
from tests.support.envelopes import assert_envelopes_conform

pytestmark = pytest.mark.django_db

FULL = {
    "decision_type": "external",
    "outcome": "flagged",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
    "actor": {"service": "refunds", "end_user": "u_1"},
    "input": "refund 1234",
    "output": {"approved": True, "amount": 49.0},
    "versions": {"model": {"provider": "openai", "name": "gpt-4o-mini"}, "policy": {"slug": "default", "version": 3}},
    "verdicts": [{"tier": "rules", "rule": "over-limit", "verdict": "flag", "score": 1.0, "reason": "amount"}],
    "confidence": 0.6,
    "rationale": "over the limit",
    "evidence": {"documents": ["kb-1"]},
    "cost": {"input_tokens": 10, "output_tokens": 2, "usd": 0.0001},
    "latency_ms": 12.5,
    "needs_review": True,
    "risk": "medium",
    "attributes": {"feature": "refunds"},
}


def _ingest(persona, body):
    response = persona.client().post("/api/v1/envelopes", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_ingested_envelopes_conform(alice):
    _ingest(alice, {"decision_type": "external", "outcome": "allowed"})
    full = _ingest(alice, FULL)
    _ingest(alice, {"decision_type": "llm_call", "outcome": "error", "parent_id": full["id"], "input": None})
    assert_envelopes_conform(DecisionEnvelope.objects.all(), expect_kinds={"external", "llm_call"})


def test_review_corrections_by_an_operator_and_by_a_key_conform(alice, alice_project, make_key):
    operator = User.objects.create_user("olga", is_staff=True)
    by_user = DecisionEnvelope.objects.get(pk=_ingest(alice, FULL)["id"])
    by_key = DecisionEnvelope.objects.get(pk=_ingest(alice, FULL)["id"])
    review_append(
        envelope=by_user, action="override", note="wrong amount", reviewer=operator, corrected_output={"amount": 40}
    )
    # Another key than the one that recorded it: self-review is off by default.
    reviewer = make_key(scopes=["reviews:write"])
    response = reviewer.client().post(
        f"/api/v1/envelopes/{by_key.pk}/reviews",
        {"action": "override", "note": "policy says no", "corrected_output": "refused"},
        format="json",
    )
    assert response.status_code == 201, response.content
    corrections = DecisionEnvelope.objects.filter(decision_type="review_override")
    assert corrections.count() == 2
    assert_envelopes_conform(DecisionEnvelope.objects.all(), expect_kinds={"review_override", "external"})
