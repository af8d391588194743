"""Scope enforcement, on a throwaway view so it does not depend on any app's endpoints."""

from __future__ import annotations

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

pytestmark = pytest.mark.django_db


class _NeedsCostsRead(APIView):
    required_scopes = frozenset({"costs:read"})

    def get(self, request):
        return Response({"ok": True})


class _NoScopesDeclared(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("t/costs", _NeedsCostsRead.as_view()), path("t/undeclared", _NoScopesDeclared.as_view())]


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = __name__


def test_key_with_scope_passes(make_key):
    assert make_key(scopes="costs:read").client().get("/t/costs").status_code == 200


def test_key_without_scope_is_403_json(make_key):
    response = make_key(scopes="guard:check").client().get("/t/costs")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "missing_scope"
    assert "costs:read" in body["message"]


def test_view_without_declared_scopes_is_denied(alice):
    response = alice.client().get("/t/undeclared")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
