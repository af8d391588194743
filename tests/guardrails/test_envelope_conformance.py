"""Every guard_check envelope validates against the published decision-envelope schema
(issue 8, item 5): every decision, guard errors failing open and closed, every way in
(the check API, batch, LiteLLM's guardrail API, the admin's Try it), with and without
an end user, and a fail-closed error is told apart from a block at the outcome level."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance.models import DecisionEnvelope
from guardrails.models import GuardPolicy
from guardrails.services import policy_create
from tests.support.envelopes import assert_envelopes_conform, envelope_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def guard_policies(alice_project):
    """A policy whose rules produce every decision, and two whose classifier always errors."""
    rules = [
        {"name": "flag refunds", "kind": "phrases", "stage": "input", "action": "flag", "severity": "low",
         "config": {"phrases": ["refund"]}},
        {"name": "block launch codes", "kind": "phrases", "stage": "input", "action": "block", "severity": "critical",
         "config": {"phrases": ["launch code"]}},
        {"name": "redact e-mail", "kind": "pii", "stage": "both", "action": "redact", "severity": "high",
         "config": {"entities": {"email": True}}},
    ]  # fmt: skip
    broken = {"name": "classifier", "kind": "classifier", "stage": "input", "action": "block", "severity": "high",
              "config": {"endpoint": "no-such-provider/classify"}}  # fmt: skip
    policy_create(project=alice_project, slug="every", name="every decision", rules=rules)
    policy_create(project=alice_project, slug="open", name="fails open", fail_mode="open", rules=[broken])
    policy_create(project=alice_project, slug="closed", name="fails closed", fail_mode="closed", rules=[broken])


def _post(persona, path, body):
    response = persona.client().post(path, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _check(persona, text, policy, stage="input", **extra):
    return _post(persona, "/api/v1/guard/check", {"policy": policy, "stage": stage, "text": text, **extra})


def test_guard_check_envelopes_of_every_decision_conform(alice, guard_policies):
    decisions = {
        "allow": _check(alice, "hello there", "every"),
        "flag": _check(alice, "I want a refund", "every"),
        "block": _check(alice, "tell me the launch code", "every"),
        "redact": _check(alice, "write to jane@example.com", "every", stage="output"),
        "error (open)": _check(alice, "hello", "open"),
        "error (closed)": _check(alice, "hello", "closed"),
    }
    assert {name: body["decision"] for name, body in decisions.items()} == {
        "allow": "allow",
        "flag": "flag",
        "block": "block",
        "redact": "redact",
        "error (open)": "allow",
        "error (closed)": "block",
    }
    _check(alice, "hello", "every", context={"end_user": "u_8f2c1a", "feature": "chat", "customer": "acme"})
    assert_envelopes_conform(
        DecisionEnvelope.objects.filter(decision_type="guard_check"),
        expect_kinds={"guard_check"},
        expect_outcomes={"allowed", "flagged", "blocked", "redacted", "error"},
    )


def test_every_verdict_says_what_it_decided(alice, guard_policies):
    body = _check(alice, "refund the launch code to jane@example.com", "every")
    document = envelope_document(DecisionEnvelope.objects.get(pk=body["envelope_id"]))
    assert sorted((v["rule"], v["verdict"], v["tier"]) for v in document["verdicts"]) == [
        ("block launch codes", "block", "rules"),
        ("flag refunds", "flag", "rules"),
        ("redact e-mail", "redact", "rules"),
    ]
    errored = _check(alice, "hello", "closed")
    [verdict] = envelope_document(DecisionEnvelope.objects.get(pk=errored["envelope_id"]))["verdicts"]
    assert (verdict["rule"], verdict["verdict"], verdict["source"], verdict["error_code"]) == (
        "classifier",
        "block",
        "guard_error",
        "backend_error",
    )


def test_a_fail_closed_error_is_an_error_outcome_not_a_block(alice, guard_policies):
    """The API still answers ``block`` (the caller must not proceed); the record says the block
    came from a guard failing closed, not from a rule that matched."""
    closed = _check(alice, "hello", "closed")
    assert closed["decision"] == "block"
    assert [e["fail_mode_applied"] for e in closed["errors"]] == ["closed"]
    envelope = DecisionEnvelope.objects.get(pk=closed["envelope_id"])
    assert envelope.outcome == "error"
    assert isinstance(envelope.output, dict)
    assert envelope.output["decision"] == "block"
    assert envelope.attributes["guard.decision"] == "block"
    assert envelope.attributes["guard.failed_closed"] is True
    assert "failed closed" in envelope.rationale

    opened = DecisionEnvelope.objects.get(pk=_check(alice, "hello", "open")["envelope_id"])
    assert isinstance(opened.output, dict)
    assert (opened.outcome, opened.output["decision"], opened.attributes["guard.failed_closed"]) == (
        "error",
        "allow",
        False,
    )
    matched = DecisionEnvelope.objects.get(pk=_check(alice, "the launch code", "every")["envelope_id"])
    assert (matched.outcome, matched.attributes["guard.failed_closed"]) == ("blocked", False)


def test_batch_litellm_and_admin_try_it_envelopes_conform(alice, guard_policies, admin_client, alice_project):
    _post(alice, "/api/v1/guard/check/batch", {"policy": "every", "stage": "input", "texts": ["a refund", "fine"]})
    _post(
        alice,
        "/api/v1/guard/litellm/beta/litellm_basic_guardrail_api",
        {
            "texts": ["the launch code"],
            "input_type": "request",
            "additional_provider_specific_params": {"policy": "every"},
        },
    )
    _post(
        alice,
        "/api/v1/guard/litellm/beta/litellm_basic_guardrail_api",
        {
            "texts": ["jane@example.com"],
            "input_type": "response",
            "request_data": {"user_api_key_end_user_id": "u_1", "user_api_key_team_alias": "team-a"},
            "additional_provider_specific_params": {"policy": "every"},
        },
    )
    policy = GuardPolicy.objects.get(project=alice_project, slug="every")
    response = admin_client.post(
        reverse("admin:guardrails_guardpolicy_try", args=[policy.pk]), {"stage": "input", "text": "a refund"}
    )
    assert response.status_code == 200
    checked = assert_envelopes_conform(DecisionEnvelope.objects.filter(decision_type="guard_check"))
    assert len(checked) == 5
    actors = sorted(str(sorted(e.actor)) for e in checked)
    assert "['api_key_id', 'end_user', 'service']" in actors  # LiteLLM with an end user
    assert "['api_key_id', 'end_user']" in actors  # the admin's Try it: no API key (null), the admin user


def test_a_check_outside_any_request_or_trace_conforms(alice_project):
    """A worker or a command checking text has no trace context: the envelope gets a new
    trace and span instead of an empty span id the schema does not allow."""
    from guardrails.services import check

    result = check(project=alice_project, policy_slug="default", stage="input", text="hello")
    assert len(result.envelope.span_id) == 16
    assert_envelopes_conform([result.envelope])
