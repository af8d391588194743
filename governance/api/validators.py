"""DRF validators shared by the API's serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from governance import jsonlimits


class JsonBoundsValidator:
    """Refuse a free-form JSON field that breaks its :class:`jsonlimits.JsonBounds` (depth, size,
    NUL, lone surrogates, NaN), naming the JSON pointer of the problem inside the field."""

    def __init__(self, bounds: jsonlimits.JsonBounds) -> None:
        self.bounds = bounds

    def __call__(self, value: Any) -> None:
        problem = jsonlimits.json_problem(value, self.bounds)
        if problem is not None:
            where = f" (at {problem.path})" if problem.path else ""
            raise serializers.ValidationError(problem.message + where, code=problem.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonBoundsValidator) and other.bounds == self.bounds

    def __hash__(self) -> int:
        return hash(self.bounds)
