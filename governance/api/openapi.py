"""OpenAPI schema: the error shape as a component, and the 4xx answers every operation can give.

Views document their success responses and any error that is particular to them (``409`` on a
conflicting ingest, ``404`` for an unknown policy). What every operation shares is added here,
once, by a drf-spectacular postprocessing hook, so a new endpoint is documented (and held to it by
the schemathesis test) without repeating the list on every view:

* authenticated operations: ``401`` (no or bad key), ``403`` (missing scope), ``406`` (an
  ``Accept`` the endpoint cannot produce), ``429`` (rate limit);
* operations with parameters or a body: ``400``;
* operations with path parameters: ``404``;
* operations with a body: ``413`` (body limit), ``415`` (not JSON).
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every API error: a stable machine-readable code, a sentence, and details when there are any.",
    "properties": {
        "code": {"type": "string", "description": "Stable error code, e.g. missing_scope, invalid_request."},
        "message": {"type": "string"},
        "detail": {"description": "Per-field problems, JSON pointers, or null."},
    },
    "required": ["code", "message", "detail"],
}
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}

_DESCRIPTIONS = {
    "400": "The request is not valid (see `detail`).",
    "401": "No API key, or an invalid, revoked or expired one.",
    "403": "The API key lacks a scope this operation needs.",
    "404": "Not found in the key's project.",
    "406": "The `Accept` header asks for a format this operation cannot produce.",
    "409": "Conflicts with what is already recorded.",
    "413": "The body (or a text in it) is larger than the limit.",
    "415": "The body is not of a supported media type.",
    "429": "Rate limit of the API key exceeded; retry after `Retry-After` seconds.",
}
_METHODS = {"get", "put", "post", "patch", "delete"}


_BATCH = "x-arbiter-batch"


def batch_size(min_items: int, max_items: int) -> dict[str, Any]:
    """``extend_schema(extensions=batch_size(1, 1000))``: the list body's item count, which
    drf-spectacular cannot read from a ``ListSerializer``; the hook below moves it into the body schema."""
    return {_BATCH: {"minItems": min_items, "maxItems": max_items}}


def error_response(status: str, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or _DESCRIPTIONS.get(status, "Error."),
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def _error_statuses(operation: dict[str, Any], *, secured: bool) -> list[str]:
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses = []
    if parameters or has_body:
        statuses.append("400")
    if secured:
        statuses += ["401", "403", "406", "429"]
    if any(p.get("in") == "path" for p in parameters):
        statuses.append("404")
    if has_body:
        statuses += ["413", "415"]
    return statuses


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular ``POSTPROCESSING_HOOKS`` entry: add the error component and shared 4xx responses."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    default_security = result.get("security", [])
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            if "requestBody" in operation:
                # Every POST of this API reads a body (drf-spectacular marks a raw-schema body optional).
                operation["requestBody"]["required"] = True
            bounds = operation.pop(_BATCH, None)
            if bounds:
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    if media.get("schema", {}).get("type") == "array":
                        media["schema"].update(bounds)
            security = operation.get("security", default_security)
            secured = any(requirement for requirement in security)
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(operation, secured=secured):
                responses.setdefault(status, error_response(status))
            for status, response in responses.items():
                # A 4xx a view declared with a description only still answers with the error shape.
                if status.startswith("4") and "content" not in response:
                    response["content"] = {"application/json": {"schema": ERROR_REF}}
    return result
