"""Input and output serializers of the costs API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from costs.choices import UsageStatus
from costs.pricing import usage_from_total_input
from costs.services.usage import OutcomeInput, UsageInput
from governance.api.fields import (
    BoundedDateField,
    BoundedDateTimeField,
    SignedUsdField,
    StrictJsonSerializer,
    UsdField,
)

MAX_TOKENS = 10**12
MAX_BATCH = 1000


class UsageInSerializer(StrictJsonSerializer):
    """One model call made outside Arbiter.

    ``input_tokens`` is the **total** input, cache reads and writes included (OpenAI's
    convention, for every provider): for Anthropic send ``input_tokens + cache_read_input_tokens
    + cache_creation_input_tokens`` as ``input_tokens``, the reads as ``cached_tokens`` and the
    writes as ``cache_write_tokens``. Arbiter stores the buckets separately and prices each once.
    """

    client_id = serializers.CharField(
        max_length=200,
        help_text="Your idempotency key: re-posting identical values changes nothing; different values are a 409.",
    )
    provider = serializers.CharField(max_length=64)
    model = serializers.CharField(max_length=200)
    input_tokens = serializers.IntegerField(min_value=0, max_value=MAX_TOKENS, help_text="Total input incl. cached.")
    output_tokens = serializers.IntegerField(min_value=0, max_value=MAX_TOKENS)
    cached_tokens = serializers.IntegerField(min_value=0, max_value=MAX_TOKENS, default=0)
    cache_write_tokens = serializers.IntegerField(min_value=0, max_value=MAX_TOKENS, default=0)
    cost_usd = UsdField(
        required=False, allow_null=True, help_text="Optional: priced from Arbiter's price list when absent."
    )
    feature = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    customer = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    pipeline = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    trace_id = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    run_id = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    step = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    status = serializers.ChoiceField(choices=UsageStatus.choices, default=UsageStatus.OK)
    attempt = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    latency_ms = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)
    request_hash = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    occurred_at = BoundedDateTimeField(required=False, help_text="Default: now.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["cached_tokens"] + attrs["cache_write_tokens"] > attrs["input_tokens"]:
            raise serializers.ValidationError(
                {"cached_tokens": "cached_tokens + cache_write_tokens cannot exceed input_tokens (the total input)."}
            )
        return attrs

    def to_input(self, attrs: dict[str, Any]) -> UsageInput:
        usage = usage_from_total_input(
            input_tokens=attrs["input_tokens"],
            output_tokens=attrs["output_tokens"],
            cached_tokens=attrs["cached_tokens"],
            cache_write_tokens=attrs["cache_write_tokens"],
        )
        return UsageInput(
            client_id=attrs["client_id"],
            provider=attrs["provider"],
            model=attrs["model"],
            usage=usage,
            occurred_at=attrs.get("occurred_at") or timezone.now(),
            status=attrs["status"],
            attempt=attrs["attempt"],
            cost_usd=attrs.get("cost_usd"),
            feature=attrs["feature"],
            customer=attrs["customer"],
            pipeline=attrs["pipeline"],
            trace_id=attrs["trace_id"],
            run_id=attrs["run_id"],
            step=attrs["step"],
            latency_ms=attrs.get("latency_ms"),
            request_hash=attrs["request_hash"],
            occurred_at_given="occurred_at" in attrs,
        )


class OutcomeInSerializer(StrictJsonSerializer):
    """One business outcome; joined to usage through ``trace_id`` or ``run_id`` (at least one)."""

    client_id = serializers.CharField(max_length=200)
    trace_id = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    run_id = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    kind = serializers.CharField(max_length=100, help_text="e.g. ticket_resolved")
    success = serializers.BooleanField()
    value_usd = SignedUsdField(default=Decimal(0))
    customer = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    feature = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    occurred_at = BoundedDateTimeField(required=False, help_text="Default: now.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["trace_id"] and not attrs["run_id"]:
            raise serializers.ValidationError({"trace_id": "Give trace_id or run_id to join the outcome to usage."})
        return attrs

    def to_input(self, attrs: dict[str, Any]) -> OutcomeInput:
        return OutcomeInput(
            client_id=attrs["client_id"],
            kind=attrs["kind"],
            success=attrs["success"],
            occurred_at=attrs.get("occurred_at") or timezone.now(),
            trace_id=attrs["trace_id"],
            run_id=attrs["run_id"],
            value_usd=attrs["value_usd"],
            customer=attrs["customer"],
            feature=attrs["feature"],
            occurred_at_given="occurred_at" in attrs,
        )


class IngestResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    records = serializers.ListField(child=serializers.DictField())


class ReportQuerySerializer(serializers.Serializer[Any]):
    start = BoundedDateField(required=False, help_text="First local day (default: 29 days before end).")
    end = BoundedDateField(
        required=False, help_text="Last local day (default: today). A report covers at most 367 days."
    )
    feature = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
    customer = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    pipeline = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["auto", "raw"], default="auto", help_text="auto: rollups where complete, raw rows elsewhere."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and end < start:
            raise serializers.ValidationError({"end": "end is before start."})
        if start and end and (end - start).days > 366:
            raise serializers.ValidationError({"start": "A report covers at most 367 days."})
        return attrs


class CostPerOutcomeQuerySerializer(ReportQuerySerializer):
    group_by = serializers.ChoiceField(choices=["feature", "customer", "day"], default="feature")


class MarginQuerySerializer(ReportQuerySerializer):
    group_by = serializers.ChoiceField(choices=["customer", "feature"], default="customer")


class BurnDownQuerySerializer(serializers.Serializer[Any]):
    budget = serializers.IntegerField(required=False, min_value=1, help_text="One budget's id (default: all).")
    source = serializers.ChoiceField(choices=["auto", "raw"], default="auto")  # type: ignore[assignment]


class ReportSerializer(serializers.Serializer[Any]):
    rows = serializers.ListField(child=serializers.DictField())
