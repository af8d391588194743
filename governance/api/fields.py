"""Serializer building blocks shared by every app's API: strict JSON types, any-JSON fields, queries.

DRF coerces where the published schema promises a type: ``"text": 0`` becomes ``"0"``, ``"5"``
becomes ``5``, ``"yes"`` becomes ``True``, and an empty ``?start=`` is treated as absent. A client
reading the OpenAPI schema cannot know that, and schemathesis's negative checks rightly refuse it.
:class:`StrictJsonSerializer` refuses a JSON value of the wrong type; :func:`query_data` hands query
strings to a serializer as a plain dict, so ``start=`` is validated (and refused) instead of ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.dates import MAX_YEAR, MIN_YEAR, year_in_range


def _type_error(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str | None:
    """What JSON type ``field`` expects, when ``value`` is not of it (``None`` is left to ``allow_null``)."""
    if value is None or isinstance(field, serializers.JSONField):
        return None
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Expected a boolean (true or false)."
    if isinstance(field, serializers.IntegerField):
        # JSON Schema counts 1.0 as an integer, so the API does too.
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        return None if integral and not isinstance(value, bool) else "Expected an integer."
    if isinstance(field, serializers.FloatField):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "Expected a number."
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return None if isinstance(value, list) else "Expected a list."
    if isinstance(field, serializers.DictField | serializers.Serializer):
        return None if isinstance(value, dict) else "Expected an object."
    if isinstance(
        field,
        serializers.CharField
        | serializers.ChoiceField
        | serializers.DecimalField
        | serializers.DateField
        | serializers.DateTimeField
        | serializers.UUIDField,
    ):
        return None if isinstance(value, str) else "Expected a string."
    return None


class StrictJsonSerializer(serializers.Serializer[Any]):
    """A request-body serializer that refuses JSON values of the wrong type instead of coercing them,
    and keeps strings as sent (DRF trims them, so ``"\\n"`` would pass ``minLength: 1`` and then fail
    as blank)."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields: dict[str, serializers.Field[Any, Any, Any, Any]] = super().get_fields()
        for field in fields.values():
            if isinstance(field, serializers.CharField):
                field.trim_whitespace = False
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and not isinstance(data, QueryDict):
            errors = {}
            for name, field in self.fields.items():
                if field.read_only or name not in data:
                    continue
                problem = _type_error(field, data[name])
                if problem:
                    errors[name] = [problem]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


@extend_schema_field({})
class AnyJsonField(serializers.JSONField):
    """Any JSON value, ``null`` included, documented as the empty schema (``{}``: anything).

    ``allow_null`` stays off so drf-spectacular does not wrap the schema in ``oneOf [{}, null]``
    (which refuses ``null``, valid under both); ``null`` is accepted here instead.
    """

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None:
            return True, None
        return super().validate_empty_values(data)


def query_data(query: QueryDict) -> dict[str, str]:
    """Query parameters for a serializer: present-but-empty values stay ``""`` (DRF drops them from a
    ``QueryDict``), so ``?start=`` is refused like any other invalid date. The last of repeated values wins."""
    return {key: str(value) for key, value in query.dict().items()}


# Dates the API accepts (governance.dates); the pattern states the same range in the schema.
_YEAR_PATTERN = r"^(19[7-9]\d|2\d{3})-"
assert (MIN_YEAR, MAX_YEAR) == (1970, 2999), "update _YEAR_PATTERN with the range"


def _year_in_range(field: serializers.Field[Any, Any, Any, Any], year: int) -> None:
    if not year_in_range(year):
        raise serializers.ValidationError(f"The year must be between {MIN_YEAR} and {MAX_YEAR}.", code="year_range")


@extend_schema_field({"type": "string", "format": "date", "pattern": _YEAR_PATTERN + r"\d{2}-\d{2}$"})
class BoundedDateField(serializers.DateField):
    """An ISO date in the years ``MIN_YEAR``..``MAX_YEAR``."""

    def to_internal_value(self, value: Any) -> Any:
        result = super().to_internal_value(value)
        _year_in_range(self, result.year)
        return result


@extend_schema_field({"type": "string", "format": "date-time", "pattern": _YEAR_PATTERN})
class BoundedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time in the years ``MIN_YEAR``..``MAX_YEAR`` (checked before and after UTC)."""

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and value[:4].isdigit():
            _year_in_range(self, int(value[:4]))
        result = super().to_internal_value(value)
        _year_in_range(self, result.year)
        return result


_USD = r"\d{1,9}(\.\d{1,9})?$"


class _UsdField(serializers.DecimalField):
    pattern: re.Pattern[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=18, decimal_places=9, **kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # DecimalField reads "" as null; the schema says a decimal string or null, and "" is neither.
        if isinstance(data, str) and not data.strip():
            self.fail("invalid")
        result: tuple[bool, Any] = super().validate_empty_values(data)
        return result

    def to_internal_value(self, data: Any) -> Any:
        # DecimalField also takes "1e5" and " 2 "; the schema (and so the client) knows only this form.
        if isinstance(data, str) and not self.pattern.match(data):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": "^" + _USD})
class UsdField(_UsdField):
    """A non-negative USD amount as a decimal string (9 digits each side of the point: nano-dollars)."""

    pattern = re.compile("^" + _USD)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", Decimal(0))
        super().__init__(**kwargs)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": "^-?" + _USD})
class SignedUsdField(_UsdField):
    """A USD amount that may be negative, as a decimal string."""

    pattern = re.compile("^-?" + _USD)
