"""The envelope API with the three personas: schema, validation with paths, filters, isolation."""

from __future__ import annotations

import jsonschema
import pytest

from governance.models import DecisionEnvelope
from governance.schemas import load_schema

pytestmark = pytest.mark.django_db

URL = "/api/v1/envelopes"
VALID = {
    "decision_type": "external",
    "outcome": "flagged",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
    "actor": {"service": "refunds", "end_user": "u_1"},
    "input": "refund 1234",
    "output": "approved",
    "versions": {"model": {"provider": "openai", "name": "gpt-4o-mini"}, "policy": {"slug": "default", "version": 3}},
    "verdicts": [{"tier": "rules", "verdict": "flag", "score": 1.0}],
    "confidence": 0.6,
    "cost": {"input_tokens": 10, "output_tokens": 2, "usd": 0.0001},
    "latency_ms": 12.5,
    "risk": "medium",
    "attributes": {"feature": "refunds"},
}


def test_schema_is_served_and_is_draft_2020_12(anon):
    response = anon.get("/api/v1/schemas/decision-envelope")
    assert response.status_code == 200
    schema = response.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    for example in schema["examples"]:
        jsonschema.Draft202012Validator(schema).validate(example)


def test_alice_posts_an_envelope_and_reads_it_back(alice):
    response = alice.client().post(URL, VALID, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["project"] == "alice"
    assert body["actor"] == {"service": "refunds", "end_user": "u_1", "api_key_id": alice.issued.api_key.pk}
    assert body["review_state"] == "pending"
    assert body["seq"] == 1
    assert body["prev_hash"] == ""
    # What the API returns conforms to the published schema.
    jsonschema.Draft202012Validator(load_schema()).validate(body)
    detail = alice.client().get(f"{URL}/{body['id']}")
    assert detail.status_code == 200
    assert detail.json()["content_hash"] == body["content_hash"]


def test_trace_defaults_to_the_request_traceparent(alice):
    body = {k: v for k, v in VALID.items() if k not in ("trace_id", "span_id")}
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = alice.client().post(URL, body, format="json", HTTP_TRACEPARENT=parent)
    assert response.json()["trace_id"] == "0af7651916cd43dd8448eb211c80319c"


def test_schema_invalid_envelopes_are_refused_with_json_pointer_paths(alice):
    body = {
        **VALID,
        "outcome": "maybe",
        "confidence": 2,
        "trace_id": "XYZ",
        "verdicts": [{"score": 1}],
        "versions": {"model": "gpt-4o"},
        "surprise": 1,
        "content_hash": "0" * 64,
        "actor": {"service": "x", "api_key_id": 99},
    }
    del body["decision_type"]
    response = alice.client().post(URL, body, format="json")
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "schema_invalid"
    paths = {e["path"] for e in payload["detail"]["errors"]}
    assert {
        "",  # required decision_type / additional property "surprise"
        "/outcome",
        "/confidence",
        "/trace_id",
        "/verdicts/0",
        "/versions/model",
        "/content_hash",
        "/actor/api_key_id",
    } <= paths
    assert not DecisionEnvelope.objects.exists()


@pytest.mark.parametrize("body", [[], "text", None, 3])
def test_a_body_that_is_not_an_object_is_refused(alice, body):
    response = alice.client().post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in ("schema_invalid", "malformed_request")


def test_unknown_parent_is_refused_with_its_path(alice, charlie, make_envelope, charlie_project):
    foreign = make_envelope(project=charlie_project)
    response = alice.client().post(URL, {**VALID, "parent_id": str(foreign.id)}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "parent_not_found"
    assert response.json()["detail"]["errors"][0]["path"] == "/parent_id"


def test_bob_reads_but_cannot_write(alice, bob, make_envelope):
    envelope = make_envelope()
    assert bob.client().get(URL).status_code == 200
    assert bob.client().get(f"{URL}/{envelope.id}").status_code == 200
    response = bob.client().post(URL, VALID, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


def test_charlie_cannot_see_alices_envelopes(alice, charlie, make_envelope):
    envelope = make_envelope(trace_id="c" * 32)
    assert charlie.client().get(URL).json()["results"] == []
    response = charlie.client().get(f"{URL}/{envelope.id}")
    assert response.status_code == 404
    assert charlie.client().get(f"/api/v1/traces/{'c' * 32}").status_code == 404
    review = charlie.client().post(f"{URL}/{envelope.id}/reviews", {"action": "approve", "note": "x"}, format="json")
    assert review.status_code == 404


def test_anonymous_is_refused(anon):
    assert anon.get(URL).status_code == 401
    assert anon.post(URL, VALID, format="json").status_code == 401


def test_filters(alice, make_envelope):
    make_envelope(trace_id="a" * 32, decision_type="guard_check", outcome="blocked")
    flagged = make_envelope(trace_id="b" * 32, outcome="flagged")
    make_envelope(trace_id="b" * 32, outcome="allowed")
    client = alice.client()

    def ids(**params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.json()
        return [e["seq"] for e in response.json()["results"]]

    assert ids() == [3, 2, 1]
    assert ids(trace_id="b" * 32) == [3, 2]
    assert ids(decision_type="guard_check") == [1]
    assert ids(outcome="flagged") == [2]
    assert ids(review_state="pending") == [2]
    assert ids(review_state="none") == [3, 1]
    assert ids(created_after=flagged.created_at.isoformat()) == [3, 2]
    assert ids(created_before=flagged.created_at.isoformat()) == [1]
    bad = client.get(URL, {"outcome": "maybe"})
    assert bad.status_code == 400
    assert "outcome" in bad.json()["detail"]


def test_cursor_pagination_and_query_ceiling(alice, make_envelope, django_assert_max_num_queries):
    for _ in range(7):
        make_envelope(outcome="flagged")
    client = alice.client()
    seen = []
    url = f"{URL}?limit=3"
    while url:
        with django_assert_max_num_queries(6):
            page = client.get(url).json()
        seen += [e["seq"] for e in page["results"]]
        url = page["next"]
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_the_posting_key_is_recorded_in_the_actor_and_covered_by_the_content_hash(alice):
    """The key lives in ``actor.api_key_id`` only: inside the hashed content, so the ledger covers it."""
    from governance.models import DecisionEnvelope
    from governance.services.envelopes import compute_content_hash

    body = alice.client().post(URL, VALID, format="json").json()
    envelope = DecisionEnvelope.objects.get(pk=body["id"])
    assert envelope.actor["api_key_id"] == alice.issued.api_key.pk
    assert compute_content_hash(envelope) == envelope.content_hash
    envelope.actor = {**envelope.actor, "api_key_id": alice.issued.api_key.pk + 1}
    assert compute_content_hash(envelope) != envelope.content_hash
