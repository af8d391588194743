"""Provenance API: the envelope schema, envelopes, traces, reviews, and OTLP trace ingest."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import otlp
from governance.api.fields import query_data
from governance.api.openapi import ERROR_REF
from governance.api.provenance_serializers import (
    EnvelopeFilterSerializer,
    EnvelopeOutSerializer,
    ReviewInSerializer,
    ReviewOutSerializer,
    TraceOutSerializer,
    envelope_schema_errors,
    envelope_write_schema,
    trace_data,
)
from governance.choices import Scope
from governance.errors import ArbiterError, NotFoundError
from governance.models import ApiKey
from governance.schemas import load_schema
from governance.selectors import envelope_get, envelope_list, reviewer_get, trace_get
from governance.services.envelopes import envelope_append
from governance.services.reviews import review_append
from governance.services.spans import spans_ingest


def _api_key(request: Request) -> ApiKey:
    api_key = request.auth
    assert isinstance(api_key, ApiKey)  # guaranteed by HasApiKeyScopes
    return api_key


class EnvelopeCursorPagination(CursorPagination):
    ordering = "-seq"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        # DRF falls back to the default on a bad limit; the schema promises an integer in range.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError({self.page_size_query_param: f"An integer from 1 to {self.max_page_size}."})
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class DecisionEnvelopeSchemaApi(APIView):
    """The published JSON Schema of the decision envelope (draft 2020-12). No key needed."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="decision_envelope_schema", responses={(200, "application/schema+json"): OpenApiTypes.OBJECT}
    )
    def get(self, request: Request) -> Response:
        return Response(load_schema(), content_type="application/schema+json")


class EnvelopeListCreateApi(APIView):
    # Read by drf-spectacular too, so the list is documented as the page object it is.
    pagination_class = EnvelopeCursorPagination
    required_scopes = {
        "GET": frozenset({Scope.ENVELOPES_READ}),
        "POST": frozenset({Scope.ENVELOPES_WRITE}),
    }

    @extend_schema(
        operation_id="envelopes_list",
        parameters=[EnvelopeFilterSerializer],
        responses={
            200: EnvelopeOutSerializer(many=True),
            404: OpenApiResponse(description="The cursor is not one this list handed out."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = EnvelopeFilterSerializer(data=query_data(request.query_params))
        filters.is_valid(raise_exception=True)
        qs = envelope_list(project=_api_key(request).project, **filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(EnvelopeOutSerializer(page, many=True).data)

    @extend_schema(
        operation_id="envelopes_create",
        description=(
            "Record a decision made by your service. The body must conform to the decision-envelope "
            "JSON Schema (GET /api/v1/schemas/decision-envelope); a non-conforming body gets 400 "
            "`schema_invalid` with `detail.errors[]`, each naming the JSON-pointer `path` it is about."
        ),
        request={"application/json": envelope_write_schema()},
        responses={
            201: EnvelopeOutSerializer,
            400: OpenApiResponse(description="`schema_invalid`, with `detail.errors[]` ({path, message, keyword})."),
            404: OpenApiResponse(description="`parent_not_found`: `parent_id` names no envelope of this project."),
        },
    )
    def post(self, request: Request) -> Response:
        body: Any = request.data
        errors = envelope_schema_errors(body)
        if errors:
            raise ArbiterError(
                "schema_invalid", "The envelope does not conform to the schema; see detail.", detail={"errors": errors}
            )
        api_key = _api_key(request)
        parent = None
        if body.get("parent_id"):
            try:
                parent = envelope_get(project=api_key.project, envelope_id=body["parent_id"])
            except NotFoundError as exc:
                # The body conforms to the schema; what it points at is missing (a 404, as for a path).
                detail = {"errors": [{"path": "/parent_id", "message": "no such envelope in this project"}]}
                raise ArbiterError(
                    "parent_not_found", "The parent envelope does not exist.", status_code=404, detail=detail
                ) from exc
        envelope = envelope_append(
            project=api_key.project,
            decision_type=body["decision_type"],
            outcome=body["outcome"],
            trace_id=body.get("trace_id"),
            span_id=body.get("span_id"),
            parent=parent,
            actor={**body.get("actor", {}), "api_key_id": api_key.pk},
            input=body.get("input"),
            output=body.get("output"),
            versions=body.get("versions"),
            verdicts=body.get("verdicts"),
            confidence=body.get("confidence"),
            rationale=body.get("rationale"),
            evidence=body.get("evidence"),
            cost=body.get("cost"),
            latency_ms=body.get("latency_ms"),
            needs_review=body.get("needs_review", False),
            risk=body.get("risk"),
            attributes=body.get("attributes"),
        )
        envelope = envelope_get(project=api_key.project, envelope_id=envelope.pk)
        return Response(EnvelopeOutSerializer(envelope).data, status=status.HTTP_201_CREATED)


class EnvelopeDetailApi(APIView):
    required_scopes = frozenset({Scope.ENVELOPES_READ})

    @extend_schema(operation_id="envelopes_retrieve", responses=EnvelopeOutSerializer)
    def get(self, request: Request, envelope_id: str) -> Response:
        envelope = envelope_get(project=_api_key(request).project, envelope_id=envelope_id)
        return Response(EnvelopeOutSerializer(envelope).data)


class EnvelopeReviewCreateApi(APIView):
    """Record a review of a flagged envelope (a review tool outside the admin)."""

    required_scopes = frozenset({Scope.REVIEWS_WRITE})

    @extend_schema(
        operation_id="envelope_reviews_create", request=ReviewInSerializer, responses={201: ReviewOutSerializer}
    )
    def post(self, request: Request, envelope_id: str) -> Response:
        api_key = _api_key(request)
        envelope = envelope_get(project=api_key.project, envelope_id=envelope_id)
        data = ReviewInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data.get("assignee")
        assignee = reviewer_get(username=username, project=api_key.project) if username else None
        review = review_append(
            envelope=envelope,
            action=data.validated_data["action"],
            note=data.validated_data["note"],
            api_key=api_key,
            assignee=assignee,
            corrected_output=data.validated_data.get("corrected_output"),
        )
        return Response(ReviewOutSerializer(review).data, status=status.HTTP_201_CREATED)


class TraceDetailApi(APIView):
    required_scopes = frozenset({Scope.ENVELOPES_READ})

    @extend_schema(operation_id="traces_retrieve", responses=TraceOutSerializer)
    def get(self, request: Request, trace_id: str) -> Response:
        trace = trace_get(project=_api_key(request).project, trace_id=trace_id.lower())
        return Response(trace_data(trace))


OTLP_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "ExportTraceServiceResponse in the OTLP JSON mapping.",
    "properties": {
        "partialSuccess": {
            "type": "object",
            "properties": {"rejectedSpans": {"type": "string"}, "errorMessage": {"type": "string"}},
        }
    },
}


class OtlpTracesApi(APIView):
    """OTLP/HTTP trace export receiver: point ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` here.

    Accepts ``application/x-protobuf`` and ``application/json``, gzip or not; answers with an
    ``ExportTraceServiceResponse`` in the same encoding (``partial_success`` lists rejected
    spans). A body that cannot be decoded gets 400 and nothing is stored.
    """

    required_scopes = frozenset({Scope.ENVELOPES_WRITE})
    parser_classes: list[Any] = []  # the raw body is decoded by the OTLP classes

    @extend_schema(
        operation_id="otlp_traces_export",
        request={otlp.PROTOBUF: OpenApiTypes.BINARY, otlp.JSON: OpenApiTypes.OBJECT},
        responses={
            (200, otlp.JSON): OTLP_RESPONSE_SCHEMA,
            (200, otlp.PROTOBUF): OpenApiTypes.BINARY,
            (400, otlp.JSON): ERROR_REF,
            (400, otlp.PROTOBUF): OpenApiResponse(OpenApiTypes.BINARY, description="A google.rpc.Status."),
        },
    )
    def post(self, request: Request) -> HttpResponse:
        as_json = otlp.media_type(request.content_type) == otlp.JSON
        content_type = otlp.JSON if as_json else otlp.PROTOBUF
        try:
            export = otlp.decode_request(
                request.body,
                content_type=request.content_type,
                content_encoding=request.headers.get("Content-Encoding"),
                limit=settings.ARBITER_MAX_REQUEST_BYTES * 8,
            )
        except otlp.OtlpDecodeError as exc:
            return HttpResponse(otlp.encode_error(str(exc), as_json=as_json), status=400, content_type=content_type)
        batch = otlp.spans_from_request(export, project=_api_key(request).project)
        spans_ingest(spans=batch.spans)
        return HttpResponse(otlp.encode_response(batch, as_json=as_json), content_type=content_type)
