from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import ApiKey
from governance.services.api_keys import api_key_revoke

pytestmark = pytest.mark.django_db


def test_valid_key_reaches_its_own_project(alice):
    response = alice.client().get("/api/v1/whoami")
    assert response.status_code == 200
    assert response.json()["project"] == "alice"
    assert response.json()["key_prefix"] == alice.issued.api_key.prefix


def test_each_key_sees_only_its_own_project(alice, charlie):
    assert alice.client().get("/api/v1/whoami").json()["project"] == "alice"
    assert charlie.client().get("/api/v1/whoami").json()["project"] == "charlie"


def test_secret_is_stored_only_as_a_hash(alice):
    row = ApiKey.objects.get(pk=alice.issued.api_key.pk)
    secret_part = alice.key.split("_", 2)[2]
    assert secret_part not in row.secret_hash
    assert len(row.secret_hash) == 64
    assert alice.key.startswith(f"arb_{row.prefix}_")


def test_missing_key_is_401_json(anon):
    response = anon.get("/api/v1/whoami")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer arb_deadbeef_wrongsecret", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer "],
)
def test_wrong_key_is_401_json(anon, alice, header):
    anon.credentials(HTTP_AUTHORIZATION=header)
    response = anon.get("/api/v1/whoami")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_right_prefix_wrong_secret_is_401(anon, alice):
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer arb_{alice.issued.api_key.prefix}_not-the-secret")
    assert anon.get("/api/v1/whoami").status_code == 401


def test_expired_key_is_401(make_key):
    persona = make_key(expires_at=timezone.now() + timedelta(seconds=1))
    ApiKey.objects.filter(pk=persona.issued.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = persona.client().get("/api/v1/whoami")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_expired"


def test_revoked_key_is_401(alice):
    api_key_revoke(api_key=alice.issued.api_key)
    response = alice.client().get("/api/v1/whoami")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_revoked"


def test_last_used_at_is_recorded(alice):
    assert ApiKey.objects.get(pk=alice.issued.api_key.pk).last_used_at is None
    alice.client().get("/api/v1/whoami")
    assert ApiKey.objects.get(pk=alice.issued.api_key.pk).last_used_at is not None


def test_throttle_answers_429_json(alice, settings):
    settings.ARBITER_API_RATE = "3/min"
    client = alice.client()
    responses = [client.get("/api/v1/whoami") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    refused = responses[-1]
    assert refused.json()["code"] == "rate_limited"
    # 3/min refills one request every 20 s: the client is told to come back then, not earlier.
    assert 19 <= int(refused["Retry-After"]) <= 20


def test_unknown_endpoint_is_json_404(alice):
    response = alice.client().get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_oversized_body_is_413(alice, settings):
    settings.ARBITER_MAX_REQUEST_BYTES = 100
    response = alice.client().post("/api/v1/whoami", data={"x": "y" * 500}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
