"""POST /api/v1/usage and /api/v1/outcomes: personas, idempotency, validation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costs.models import Outcome, UsageRecord
from costs.pricing import usd_to_nanos

pytestmark = pytest.mark.django_db


def usage(cid: str = "u1", **fields):
    body = {
        "client_id": cid, "provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 100,
        "cached_tokens": 800, "trace_id": "t1", "feature": "support", "customer": "acme",
    }  # fmt: skip
    body.update(fields)
    return body


@pytest.fixture
def gpt4o(make_price):
    return make_price(provider="openai", model="gpt-4o", input_per_mtok=Decimal("2.5"), output_per_mtok=Decimal("10"),
                      cache_read_per_mtok=Decimal("1.25"))  # fmt: skip


def test_alice_records_usage_priced_from_the_price_list(alice, gpt4o):
    response = alice.client().post("/api/v1/usage", [usage()], format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["records"] == [{"client_id": "u1", "status": "created", "cost_usd": "0.002500000"}]
    record = UsageRecord.objects.get()
    assert (record.uncached_input_tokens, record.cache_read_tokens) == (200, 800)
    assert record.api_key == alice.issued.api_key
    assert record.source == "ingest"


def test_anthropic_usage_posted_as_total_input_is_priced_once_per_bucket(alice, make_price):
    make_price(
        provider="anthropic", model="claude-3-5-haiku-latest", input_per_mtok=Decimal("0.8"),
        output_per_mtok=Decimal("4"), cache_read_per_mtok=Decimal("0.08"), cache_write_per_mtok=Decimal("1"),
    )  # fmt: skip
    # Anthropic reported input_tokens=200, cache_read=800, cache_creation=400: the total is 1400.
    body = usage(provider="anthropic", model="claude-3-5-haiku-latest", input_tokens=1400, cached_tokens=800,
                 cache_write_tokens=400)  # fmt: skip
    assert alice.client().post("/api/v1/usage", [body], format="json").status_code == 201
    record = UsageRecord.objects.get()
    assert (record.uncached_input_tokens, record.cache_read_tokens, record.cache_write_tokens) == (200, 800, 400)
    # 200*0.8 + 800*0.08 + 400*1 + 100*4 = 160 + 64 + 400 + 400 = 1024 $/M
    assert record.cost_nanos == usd_to_nanos(Decimal("0.001024"))


def test_reported_cost_wins_and_unknown_models_stay_unknown(alice):
    response = alice.client().post(
        "/api/v1/usage", [usage("a", cost_usd="0.0123"), usage("b", model="mystery")], format="json"
    )
    assert response.status_code == 201
    costs = dict(UsageRecord.objects.values_list("client_id", "cost_nanos"))
    assert costs == {"a": usd_to_nanos(Decimal("0.0123")), "b": None}


def test_reposting_a_client_id_changes_nothing(alice, gpt4o):
    client = alice.client()
    assert client.post("/api/v1/usage", [usage("u1"), usage("u1")], format="json").json()["created"] == 1
    again = client.post("/api/v1/usage", [usage("u1")], format="json")
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1
    assert UsageRecord.objects.get().output_tokens == 100


def test_same_client_id_in_another_project_is_another_record(alice, charlie, gpt4o):
    alice.client().post("/api/v1/usage", [usage("u1")], format="json")
    assert charlie.client().post("/api/v1/usage", [usage("u1")], format="json").status_code == 201
    assert UsageRecord.objects.count() == 2


def test_bob_is_read_only_and_anonymous_is_refused(bob, anon):
    response = bob.client().post("/api/v1/usage", [usage()], format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
    assert bob.client().post("/api/v1/outcomes", [], format="json").status_code == 403
    assert anon.post("/api/v1/usage", [usage()], format="json").status_code == 401
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input_tokens": -1}, "input_tokens"),
        ({"output_tokens": "many"}, "output_tokens"),
        ({"status": "exploded"}, "status"),
        ({"cached_tokens": 2000}, "cached_tokens"),
        ({"attempt": 0}, "attempt"),
        ({"cost_usd": "-0.01"}, "cost_usd"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"input_tokens": 10**20}, "input_tokens"),
        ({"client_id": ""}, "client_id"),
        ({"model": None}, "model"),
    ],
)
def test_invalid_records_are_400_naming_the_field(alice, change, field):
    response = alice.client().post("/api/v1/usage", [usage("ok"), usage("bad", **change)], format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request"
    assert field in body["detail"][1]
    assert not UsageRecord.objects.exists()  # all or nothing


@pytest.mark.parametrize("payload", [{"client_id": "x"}, [], "text", [1, 2], None])
def test_malformed_bodies_are_400(alice, payload):
    response = alice.client().post("/api/v1/usage", payload, format="json")
    assert response.status_code == 400


def test_outcomes_are_recorded_idempotently(alice, charlie):
    body = [{"client_id": "o1", "trace_id": "t1", "kind": "ticket_resolved", "success": True, "value_usd": "1.50",
             "customer": "acme", "feature": "support"}]  # fmt: skip
    assert alice.client().post("/api/v1/outcomes", body, format="json").status_code == 201
    assert alice.client().post("/api/v1/outcomes", body, format="json").json()["duplicates"] == 1
    assert charlie.client().post("/api/v1/outcomes", body, format="json").status_code == 201
    outcome = Outcome.objects.get(project=alice.project)
    assert outcome.value_nanos == usd_to_nanos(Decimal("1.5"))


def test_an_outcome_needs_a_trace_or_run_id(alice):
    response = alice.client().post(
        "/api/v1/outcomes", [{"client_id": "o1", "kind": "k", "success": True}], format="json"
    )
    assert response.status_code == 400
    assert "trace_id" in response.json()["detail"][0]


# --- a client_id re-posted with different values is a 409 (issue 8, item 12) ---------------------------


def test_a_client_id_reposted_with_different_values_is_a_409_naming_the_fields(alice, gpt4o):
    first = usage(occurred_at="2026-03-01T10:00:00Z")
    assert alice.client().post("/api/v1/usage", [first], format="json").status_code == 201
    changed = {**first, "output_tokens": 999, "customer": "globex", "cost_usd": "0.5"}
    response = alice.client().post("/api/v1/usage", [usage("new"), changed], format="json")
    assert response.status_code == 409, response.json()
    body = response.json()
    assert body["code"] == "client_id_conflict"
    [conflict] = body["detail"]["conflicts"]
    assert conflict["client_id"] == "u1"
    assert conflict["fields"] == {
        "output_tokens": {"recorded": 100, "sent": 999},
        "customer": {"recorded": "acme", "sent": "globex"},
        "cost_usd": {"recorded": None, "sent": "0.500000000"},
    }
    # Nothing of the batch is recorded, and the first record is untouched.
    assert list(UsageRecord.objects.values_list("client_id", "output_tokens")) == [("u1", 100)]


def test_an_identical_repost_is_still_a_duplicate_with_or_without_occurred_at(alice, gpt4o):
    first = usage(occurred_at="2026-03-01T10:00:00Z")
    assert alice.client().post("/api/v1/usage", [first], format="json").status_code == 201
    again = alice.client().post("/api/v1/usage", [first, usage()], format="json")
    assert again.status_code == 200
    assert again.json()["duplicates"] == 2
    moved = alice.client().post("/api/v1/usage", [{**first, "occurred_at": "2026-03-02T10:00:00Z"}], format="json")
    assert moved.status_code == 409
    assert set(moved.json()["detail"]["conflicts"][0]["fields"]) == {"occurred_at"}


def test_a_client_id_twice_in_one_batch_with_different_values_is_a_409(alice, gpt4o):
    response = alice.client().post("/api/v1/usage", [usage(), usage(model="gpt-4o-mini")], format="json")
    assert response.status_code == 409
    assert not UsageRecord.objects.exists()


def test_an_outcome_reposted_with_different_values_is_a_409(alice):
    outcome = {"client_id": "o1", "kind": "ticket_resolved", "success": True, "value_usd": "2.00", "trace_id": "t1"}
    assert alice.client().post("/api/v1/outcomes", [outcome], format="json").status_code == 201
    assert alice.client().post("/api/v1/outcomes", [outcome], format="json").status_code == 200
    response = alice.client().post("/api/v1/outcomes", [{**outcome, "success": False}], format="json")
    assert response.status_code == 409
    assert response.json()["detail"]["conflicts"] == [
        {"client_id": "o1", "fields": {"success": {"recorded": True, "sent": False}}}
    ]
    assert Outcome.objects.get().success is True
