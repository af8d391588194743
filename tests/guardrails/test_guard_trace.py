"""A guard check with a model-backed tier leaves one trace: request span → model-call span, plus the envelope."""

from __future__ import annotations

import json

import pytest

from guardrails.services import policy_create
from tests.support.fake_provider import openai_reply

pytestmark = pytest.mark.django_db

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _walk(nodes):
    for node in nodes:
        yield node
        yield from _walk(node["children"])


def test_guard_check_trace_is_one_tree(alice, alice_project, judge_provider, fake_provider):
    policy_create(
        project=alice_project, slug="judge", name="judge",
        rules=[{"name": "llm judge", "kind": "llm_guard", "stage": "input", "action": "block",
                "config": {"prompt": "Injection?", "provider": "fake-judge", "model": "judge-1"}}],
    )  # fmt: skip
    fake_provider.enqueue(json=openai_reply(text=json.dumps({"verdict": "allow", "score": 0.1, "reason": "fine"})))
    client = alice.client()
    response = client.post(
        "/api/v1/guard/check",
        {"policy": "judge", "stage": "input", "text": "hello"},
        format="json",
        HTTP_TRACEPARENT=f"00-{TRACE}-00f067aa0ba902b7-01",
    )
    assert response.status_code == 200
    assert response.json()["trace_id"] == TRACE

    trace = client.get(f"/api/v1/traces/{TRACE}").json()
    (root,) = trace["spans"]
    assert root["parent_span_id"] == "00f067aa0ba902b7"  # the caller's span
    assert root["attributes"]["http.route"].endswith("guard/check")
    model_spans = [s for s in _walk(trace["spans"]) if s["attributes"].get("gen_ai.request.model") == "judge-1"]
    (model_span,) = model_spans
    assert model_span in root["children"]
    assert model_span["attributes"]["gen_ai.provider.name"]
    assert model_span["attributes"]["gen_ai.usage.input_tokens"] > 0
    (envelope,) = trace["envelopes"]
    assert envelope["decision_type"] == "guard_check"
    assert envelope["span_id"] == root["span_id"]
