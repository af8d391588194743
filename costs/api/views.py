"""Costs API: usage and outcome ingest, and the reports (JSON or CSV)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from costs import reports
from costs.api import schema as _schema  # noqa: F401  (registers the OpenAPI extensions)
from costs.api.renderers import ReportCsvRenderer
from costs.api.serializers import (
    MAX_BATCH,
    BurnDownQuerySerializer,
    CostPerOutcomeQuerySerializer,
    IngestResultSerializer,
    MarginQuerySerializer,
    OutcomeInSerializer,
    ReportQuerySerializer,
    ReportSerializer,
    UsageInSerializer,
)
from costs.pricing import nanos_to_usd_or_none
from costs.services.usage import IngestResult, outcome_ingest, usage_ingest
from governance.api.fields import query_data
from governance.api.openapi import batch_size
from governance.choices import Scope
from governance.models import ApiKey

READ = frozenset({Scope.COSTS_READ.value})
WRITE = frozenset({Scope.COSTS_WRITE.value})


def _api_key(request: Request) -> ApiKey:
    assert isinstance(request.auth, ApiKey)  # guaranteed by HasApiKeyScopes
    return request.auth


def _ingest_response(result: IngestResult) -> Response:
    records: list[dict[str, Any]] = [
        {"client_id": cid, "status": "created", "cost_usd": _str(nanos_to_usd_or_none(result.costs.get(cid)))}
        for cid in result.created
    ]
    records += [{"client_id": cid, "status": "duplicate"} for cid in result.duplicates]
    body = {"created": len(result.created), "duplicates": len(result.duplicates), "records": records}
    return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


def _str(value: object) -> str | None:
    return None if value is None else str(value)


_INGEST_RESPONSES = {
    201: IngestResultSerializer,
    200: OpenApiResponse(IngestResultSerializer, description="Every record was already recorded, identically."),
    409: OpenApiResponse(
        description="`client_id_conflict`: a `client_id` already recorded with different values; "
        "`detail.conflicts[]` names each one's differing fields. Nothing of the batch is recorded."
    ),
}


class UsageIngestApi(APIView):
    """Record model calls made outside Arbiter: a JSON list of usage records, idempotent by ``client_id``."""

    required_scopes = WRITE

    @extend_schema(
        operation_id="usage_ingest",
        request=UsageInSerializer(many=True),
        responses=_INGEST_RESPONSES,
        extensions=batch_size(1, MAX_BATCH),
        tags=["costs"],
    )
    def post(self, request: Request) -> Response:
        api_key = _api_key(request)
        serializer = UsageInSerializer(data=request.data, many=True, max_length=MAX_BATCH, allow_empty=False)  # type: ignore[call-arg]
        serializer.is_valid(raise_exception=True)
        inputs = [UsageInSerializer().to_input(attrs) for attrs in serializer.validated_data]
        return _ingest_response(usage_ingest(project=api_key.project, api_key=api_key, records=inputs))


class OutcomeIngestApi(APIView):
    """Record business outcomes: a JSON list, idempotent by ``client_id``, joined to usage by trace/run id."""

    required_scopes = WRITE

    @extend_schema(
        operation_id="outcomes_ingest",
        request=OutcomeInSerializer(many=True),
        responses=_INGEST_RESPONSES,
        extensions=batch_size(1, MAX_BATCH),
        tags=["costs"],
    )
    def post(self, request: Request) -> Response:
        api_key = _api_key(request)
        serializer = OutcomeInSerializer(data=request.data, many=True, max_length=MAX_BATCH, allow_empty=False)  # type: ignore[call-arg]
        serializer.is_valid(raise_exception=True)
        inputs = [OutcomeInSerializer().to_input(attrs) for attrs in serializer.validated_data]
        return _ingest_response(outcome_ingest(project=api_key.project, api_key=api_key, outcomes=inputs))


_FORMAT = OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"], description="csv: the rows as CSV")


class _ReportApi(APIView):
    required_scopes = READ
    renderer_classes = [JSONRenderer, ReportCsvRenderer]
    query_serializer: type[ReportQuerySerializer] = ReportQuerySerializer

    def window(self, request: Request) -> tuple[reports.ReportWindow, dict[str, Any]]:
        project = _api_key(request).project
        query = self.query_serializer(data=query_data(request.query_params))
        query.is_valid(raise_exception=True)
        q: dict[str, Any] = dict(query.validated_data)
        today = timezone.now().astimezone(ZoneInfo(project.time_zone)).date()
        end = q.get("end") or today
        try:
            start = q.get("start") or end - timedelta(days=29)
        except OverflowError as exc:
            raise ValidationError({"end": "Too early to report on."}) from exc
        # Checked here as well as in the serializer: a default start or end can make the window invalid.
        if end < start:
            raise ValidationError({"start": "start is after end (end defaults to today)."})
        if (end - start).days > 366:
            raise ValidationError({"start": "A report covers at most 367 days."})
        window = reports.ReportWindow(
            project=project,
            start=start,
            end=end,
            feature=q["feature"],
            customer=q["customer"],
            pipeline=q["pipeline"],
            source=q["source"],
        )
        return window, q


def _report_schema(operation_id: str, query: type[Any]) -> Any:
    return extend_schema(
        operation_id=operation_id,
        parameters=[query, _FORMAT],
        responses={200: OpenApiResponse(ReportSerializer, description="JSON, or CSV of the rows")},
        tags=["costs"],
    )


class CostPerOutcomeReportApi(_ReportApi):
    """Cost per successful outcome by feature, customer or day; cost of traces without a successful outcome."""

    query_serializer = CostPerOutcomeQuerySerializer

    @_report_schema("report_cost_per_outcome", CostPerOutcomeQuerySerializer)
    def get(self, request: Request, format: str | None = None) -> Response:
        window, q = self.window(request)
        return Response(reports.cost_per_outcome(window, group_by=q["group_by"]))


class RecomputeReportApi(_ReportApi):
    """Hidden recompute: spend on retries, duplicate requests and failures, per day, with top sources."""

    @_report_schema("report_recompute", ReportQuerySerializer)
    def get(self, request: Request, format: str | None = None) -> Response:
        window, _ = self.window(request)
        return Response(reports.recompute(window))


class MarginReportApi(_ReportApi):
    """Outcome value minus AI cost per customer or feature; the negative ones listed."""

    query_serializer = MarginQuerySerializer

    @_report_schema("report_margin", MarginQuerySerializer)
    def get(self, request: Request, format: str | None = None) -> Response:
        window, q = self.window(request)
        return Response(reports.margin(window, group_by=q["group_by"]))


class MissingPricesReportApi(_ReportApi):
    """Models called without a price (their cost is unknown, not zero)."""

    @_report_schema("report_missing_prices", ReportQuerySerializer)
    def get(self, request: Request, format: str | None = None) -> Response:
        window, _ = self.window(request)
        return Response(reports.missing_prices(window))


class BudgetBurnDownReportApi(APIView):
    """Each budget's current period: spend to date vs limit, open holds, linear forecast to period end."""

    required_scopes = READ
    renderer_classes = [JSONRenderer, ReportCsvRenderer]

    @_report_schema("report_budget_burn_down", BurnDownQuerySerializer)
    def get(self, request: Request, format: str | None = None) -> Response:
        query = BurnDownQuerySerializer(data=query_data(request.query_params))
        query.is_valid(raise_exception=True)
        q = query.validated_data
        return Response(
            reports.budget_burn_down(_api_key(request).project, budget_id=q.get("budget"), source=q["source"])
        )
