from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_openapi_schema_builds_without_warnings(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/whoami" in schema["paths"]
    assert "ApiKey" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_interactive_docs_page(client):
    assert client.get("/api/docs/").status_code == 200


def test_spectacular_generates_no_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, list(GENERATOR_STATS._error_cache)
