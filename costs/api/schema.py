"""OpenAPI refinements of the costs API that a serializer cannot state by itself."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension


class OutcomeInSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """An outcome names the usage it joins: a non-empty ``trace_id`` or ``run_id`` (or both)."""

    target_class = "costs.api.serializers.OutcomeInSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["anyOf"] = [
            {"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
            for name in ("trace_id", "run_id")
        ]
        return schema
