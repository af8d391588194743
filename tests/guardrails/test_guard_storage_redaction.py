"""A guard check runs the engine once (issue 9, item 3): the redaction of what its envelope
stores comes from the same pass as the check, the envelope's enum values are never redacted,
and what is stored is what the provenance redactor would have stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import guardrails.engine.engine as engine_module
from governance.models import DecisionEnvelope, Project
from guardrails.services import check, policy_create, redact_text

pytestmark = pytest.mark.django_db

EMAIL_AND_KEY = "mail jane.doe@example.com, key AKIAIOSFODNN7EXAMPLE"


@pytest.fixture
def engine_passes(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts engine passes: every ``engine.check`` with rules scans the text once in
    ``_tier_rules`` (the policy's check and any separate redactor run alike)."""
    calls: list[int] = []
    original = engine_module._tier_rules

    def counting(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        original(*args, **kwargs)

    monkeypatch.setattr(engine_module, "_tier_rules", counting)

    def taken() -> int:
        count = len(calls)
        calls.clear()
        return count

    return taken


def _set_storage(project: Project, mode: str) -> None:
    Project.objects.filter(pk=project.pk).update(content_storage=mode)
    project.refresh_from_db()


@pytest.mark.parametrize("storage", ["redacted", "raw", "hashed"])
@pytest.mark.parametrize(
    ("stage", "text"),
    [("input", "How do I reset my password?"), ("input", EMAIL_AND_KEY), ("output", EMAIL_AND_KEY)],
    ids=["input-clean", "input-pii", "output-pii-redacted-by-policy"],
)
def test_one_engine_pass_per_check(alice, alice_project, engine_passes, storage, stage, text):
    _set_storage(alice_project, storage)
    engine_passes()  # project setup may have compiled and run things
    response = alice.client().post(
        "/api/v1/guard/check", {"policy": "default", "stage": stage, "text": text}, format="json"
    )
    assert response.status_code == 200, response.content
    assert engine_passes() == 1
    envelope = DecisionEnvelope.objects.get(pk=response.json()["envelope_id"])
    assert envelope.content_storage == storage


def test_a_redacted_project_stores_redacted_text_and_plain_enum_values(alice, alice_project, engine_passes):
    body = (
        alice.client()
        .post("/api/v1/guard/check", {"policy": "default", "stage": "input", "text": EMAIL_AND_KEY}, format="json")
        .json()
    )
    envelope = DecisionEnvelope.objects.get(pk=body["envelope_id"])
    assert envelope.content_storage == "redacted"
    assert envelope.input == {"stage": "input", "text": "mail [EMAIL], key [AWS_ACCESS_KEY]"}
    assert envelope.input == {"stage": "input", "text": redact_text(EMAIL_AND_KEY)}
    # The default policy flags secrets in inputs but does not redact them: the caller gets the
    # text back as sent, and the record still keeps only the redacted form.
    assert body["text"] == EMAIL_AND_KEY
    assert envelope.output == {"decision": body["decision"], "text": "mail [EMAIL], key [AWS_ACCESS_KEY]"}
    # The chain covers the raw content's hash, not the stored redacted form.
    from governance.services.envelopes import sha256_json

    assert envelope.input_hash == sha256_json({"stage": "input", "text": EMAIL_AND_KEY})


def test_stored_output_combines_the_policys_redactions_with_the_redactors(alice_project, engine_passes):
    policy_create(
        project=alice_project,
        slug="ids",
        name="employee ids",
        rules=[{"name": "employee id", "kind": "regex", "stage": "output", "action": "redact",
                "config": {"patterns": [r"EMP-\d{6}"], "entity": "EMPLOYEE_ID"}}],
    )  # fmt: skip
    text = "EMP-123456 wrote from jane.doe@example.com"
    result = check(project=alice_project, policy_slug="ids", stage="output", text=text)
    assert engine_passes() == 1
    assert result.result.text == "[EMPLOYEE_ID] wrote from jane.doe@example.com"  # what the caller gets
    stored_input, stored_output = _stored(result.envelope)
    assert stored_input["text"] == "EMP-123456 wrote from [EMAIL]"  # the redactor only
    assert stored_output["text"] == "[EMPLOYEE_ID] wrote from [EMAIL]"  # both
    assert stored_output["text"] == redact_text(result.result.text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain words only",
        "card 4111 1111 1111 1111 and iban DE89 3704 0044 0532 0130 00 and +1 415 555 0100",
        "token ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + " and " + "x" * 70_000 + " jane@example.com",
    ],
    ids=["empty", "clean", "pii", "long-windowed"],
)
def test_stored_texts_equal_what_the_separate_redactor_stores(alice_project, text):
    result = check(project=alice_project, policy_slug="default", stage="input", text=text)
    assert _stored(result.envelope)[0]["text"] == redact_text(text)
    output = check(project=alice_project, policy_slug="default", stage="output", text=text)
    assert _stored(output.envelope)[1]["text"] == redact_text(output.result.text)


def _stored(envelope: DecisionEnvelope) -> tuple[dict[str, Any], dict[str, Any]]:
    assert isinstance(envelope.input, dict)
    assert isinstance(envelope.output, dict)
    return envelope.input, envelope.output
