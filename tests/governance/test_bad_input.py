"""Bad input gets a 4xx in the error shape, never a 500 (issue 8, items 6 and 11).

Each case here returned a 500 before: a body nested 10,000 deep (``RecursionError`` in the
parser), 900 levels in a free-form field (``normalise_json``), a lone surrogate
(``UnicodeEncodeError`` in ``canonical_json``), NUL (PostgreSQL ``DataError``), a ``parent_id``
that is not a UUID, and an OTLP span with NUL or NaN.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from governance import jsonlimits
from governance.errors import ArbiterError
from governance.models import DecisionEnvelope, Span
from governance.services.envelopes import canonical_json, envelope_append, normalise_json

ENVELOPES = "/api/v1/envelopes"
CHECK = "/api/v1/guard/check"
LITELLM = "/api/v1/guard/litellm/beta/litellm_basic_guardrail_api"
OTLP = "/api/v1/otlp/v1/traces"


def _nested(depth: int, leaf: str = "0") -> str:
    return "[" * depth + leaf + "]" * depth


def _post(persona, url: str, body: str):
    return persona.client().post(url, data=body, content_type="application/json")


def _post_operations() -> list[str]:
    """Every POST path of the published schema, so a new endpoint is covered without editing this test."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return sorted(path for path, item in paths.items() if "post" in item)


@pytest.mark.django_db
@pytest.mark.parametrize("path", _post_operations())
def test_a_body_nested_10000_deep_is_a_400_on_every_post(alice, path):
    envelope = envelope_append(project=alice.project, decision_type="external", outcome="flagged")
    url = path.replace("{envelope_id}", str(envelope.pk))
    assert "{" not in url, f"fill in the path parameters of {path}"
    response = _post(alice, url, _nested(10_000))
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] in {"json_too_deep", "malformed_otlp"}


@pytest.mark.django_db
def test_a_body_deeper_than_the_limit_but_parseable_is_refused_with_its_path(alice):
    body = json.dumps({"stage": "input", "text": "hi", "context": {"a": json.loads(_nested(70))}})
    response = _post(alice, CHECK, body)
    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"
    assert response.json()["detail"]["path"].startswith("/context/a/0/0")


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["input", "output", "attributes", "evidence"])
def test_envelope_free_form_fields_are_bounded_in_depth(alice, field):
    value = json.loads(_nested(40))
    payload: dict[str, Any] = {"decision_type": "external", "outcome": "allowed"}
    payload[field] = {"x": value} if field == "attributes" else value
    response = alice.client().post(ENVELOPES, payload, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["detail"]["errors"]
    assert any(e["path"].startswith(f"/{field}") and e["keyword"] == "json_too_deep" for e in errors), errors
    assert not DecisionEnvelope.objects.exists()


@pytest.mark.django_db
def test_guard_context_is_bounded_in_size_and_depth(alice):
    big = {"stage": "input", "text": "hi", "context": {"feature": "chat", "blob": "x" * (1024 * 1024)}}
    response = alice.client().post(CHECK, big, format="json")
    assert response.status_code == 400
    assert "context" in response.json()["detail"]
    deep = {"stage": "input", "text": "hi", "context": {"feature": json.loads(_nested(33))}}
    response = alice.client().post(CHECK, deep, format="json")
    assert response.status_code == 400
    assert "32 levels" in response.json()["detail"]["context"][0]
    assert not DecisionEnvelope.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "body"),
    [
        (ENVELOPES, '{"decision_type": "external", "outcome": "allowed", "rationale": "bad \\ud800"}'),
        (ENVELOPES, '{"decision_type": "external", "outcome": "allowed", "actor": {"service": "\\udfff"}}'),
        (ENVELOPES, '{"decision_type": "external", "outcome": "allowed", "attributes": {"k\\ud800": 1}}'),
        (ENVELOPES, '{"decision_type": "external", "outcome": "allowed", "input": {"a": "nul \\u0000"}}'),
        (ENVELOPES, '{"decision_type": "external", "outcome": "allowed", "attributes": {"a": "\\u0000"}}'),
        (CHECK, '{"stage": "input", "text": "hi", "context": {"feature": "\\ud800"}}'),
        (CHECK, '{"stage": "input", "text": "hi", "context": {"customer": "a\\u0000b"}}'),
        (CHECK, '{"stage": "input", "text": "hi", "context": {"end_user": "\\udc00"}}'),
        (LITELLM, '{"texts": ["hi"], "input_type": "request", "request_data": {"user_api_key_team_alias": "\\ud800"}}'),
        (LITELLM, '{"texts": [], "input_type": "request", "additional_provider_specific_params": {"p": "\\u0000"}}'),
        (
            "/api/v1/usage",
            '[{"client_id": "c", "provider": "p", "model": "m", "input_tokens": 1, "output_tokens": 1,'
            ' "feature": "\\u0000"}]',
        ),
    ],
)
def test_nul_and_lone_surrogates_are_a_400(alice, url, body):
    response = _post(alice, url, body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_characters"
    assert response.json()["detail"]["path"]
    assert not DecisionEnvelope.objects.exists()


@pytest.mark.django_db
def test_a_valid_surrogate_pair_is_an_emoji_not_an_error(alice):
    body = '{"decision_type": "external", "outcome": "allowed", "rationale": "ok \\ud83d\\ude00"}'
    response = _post(alice, ENVELOPES, body)
    assert response.status_code == 201, response.content
    assert response.json()["rationale"] == "ok \U0001f600"


@pytest.mark.django_db
def test_a_parent_id_that_is_not_a_uuid_is_a_schema_error(alice):
    payload = {"decision_type": "external", "outcome": "allowed", "parent_id": "nope"}
    response = alice.client().post(ENVELOPES, payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "schema_invalid"
    assert [e["path"] for e in response.json()["detail"]["errors"]] == ["/parent_id"]


@pytest.mark.django_db
def test_nan_is_not_json(alice):
    response = _post(alice, ENVELOPES, '{"decision_type": "external", "outcome": "allowed", "confidence": NaN}')
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


# --- the service layer, for callers inside Arbiter ---------------------------------------------------


@pytest.mark.parametrize("value", [json.loads(_nested(200)), {"a": "\x00"}, {"\ud800": 1}, ["\udfff"], float("nan")])
def test_normalise_json_refuses_what_cannot_be_hashed_or_stored(value):
    with pytest.raises(ArbiterError) as raised:
        canonical_json(normalise_json(value))
    assert raised.value.code == "invalid_envelope"


@pytest.mark.django_db
def test_envelope_append_refuses_a_lone_surrogate_and_stores_nothing(alice_project):
    with pytest.raises(ArbiterError):
        envelope_append(project=alice_project, decision_type="external", outcome="allowed", input="\ud800")
    assert not DecisionEnvelope.objects.exists()


def test_json_problem_reports_the_pointer_and_the_size():
    problem = jsonlimits.json_problem({"a/b": [0, "x\x00"]}, jsonlimits.FREE_FORM)
    assert problem is not None
    assert (problem.code, problem.path) == ("invalid_characters", "/a~1b/1")
    problem = jsonlimits.json_problem({"k": "x" * 20_000}, jsonlimits.FREE_FORM)
    assert problem is not None
    assert problem.code == "json_too_large"
    assert jsonlimits.json_problem({"k": [{"a": 1}] * 10}, jsonlimits.FREE_FORM) is None


# --- OTLP: a span that cannot be stored is rejected as a partial success --------------------------------


def _otlp_span(name: str = "op", attributes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "traceId": uuid.uuid4().hex,
        "spanId": uuid.uuid4().hex[:16],
        "name": name,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
        "attributes": attributes or [],
    }


def _otlp(*spans: dict[str, Any]) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]})


@pytest.mark.django_db
def test_otlp_spans_with_nul_are_rejected_and_the_rest_kept(alice):
    body = _otlp(
        _otlp_span("ok"),
        _otlp_span("bad\u0000name"),
        _otlp_span("attr", [{"key": "k", "value": {"stringValue": "a\u0000b"}}]),
        _otlp_span("key", [{"key": "k\u0000", "value": {"intValue": "1"}}]),
    )
    response = _post(alice, OTLP, body)
    assert response.status_code == 200, response.content
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "3"
    assert "NUL" in partial["errorMessage"]
    assert list(Span.objects.filter(source="otlp").values_list("name", flat=True)) == ["ok"]


@pytest.mark.django_db
@pytest.mark.parametrize("literal", ['"NaN"', '"Infinity"', '"-Infinity"'])
def test_otlp_nan_and_infinity_doubles_are_stored_as_their_json_mapping_strings(alice, literal):
    body = _otlp(_otlp_span("d", [{"key": "x", "value": {"doubleValue": "PLACEHOLDER"}}])).replace(
        '"PLACEHOLDER"', literal
    )
    response = _post(alice, OTLP, body)
    assert response.status_code == 200, response.content
    assert response.json() == {}
    stored = Span.objects.get(source="otlp").attributes["x"]
    assert stored == literal.strip('"')


@pytest.mark.django_db
def test_otlp_a_bare_nan_literal_is_not_json_and_a_400(alice):
    body = _otlp(_otlp_span("d", [{"key": "x", "value": {"doubleValue": "PLACEHOLDER"}}]))
    response = _post(alice, OTLP, body.replace('"PLACEHOLDER"', "NaN"))
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_otlp"


@pytest.mark.django_db
def test_otlp_json_nested_10000_deep_is_a_400(alice):
    response = _post(alice, OTLP, '{"resourceSpans": ' + _nested(10_000) + "}")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_otlp"
