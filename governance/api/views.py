"""The core's API: who am I (a cheap authenticated endpoint for clients and benchmarks)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import tracing
from governance.models import ApiKey


class WhoAmIApi(APIView):
    """The key's project, name and scopes. Any valid key may call it."""

    required_scopes: frozenset[str] = frozenset()

    @extend_schema(
        operation_id="whoami",
        responses=inline_serializer(
            "WhoAmI",
            {
                "project": serializers.CharField(),
                "key_name": serializers.CharField(),
                "key_prefix": serializers.CharField(),
                "scopes": serializers.ListField(child=serializers.CharField()),
                "trace_id": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        api_key = request.auth
        assert isinstance(api_key, ApiKey)  # guaranteed by HasApiKeyScopes
        return Response(
            {
                "project": api_key.project.slug,
                "key_name": api_key.name,
                "key_prefix": api_key.prefix,
                "scopes": api_key.scopes,
                "trace_id": tracing.current_trace_id(),
            }
        )
