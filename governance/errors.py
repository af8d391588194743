"""One error shape for the whole API: ``{"code", "message", "detail"}`` with a stable code.

Services raise :class:`ArbiterError`; DRF's own exceptions are translated here; anything
else is logged with the trace id and answered as a 500 that reveals nothing internal.
"""

from __future__ import annotations

import sys
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

log = structlog.get_logger(__name__)


class ArbiterError(Exception):
    """A failure the caller can act on. ``code`` is part of the API contract: never rename one."""

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, code: str, message: str, *, status_code: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(ArbiterError):
    status_code: int = status.HTTP_404_NOT_FOUND

    def __init__(self, message: str = "Not found.", *, code: str = "not_found") -> None:
        super().__init__(code, message)


class ConflictError(ArbiterError):
    status_code: int = status.HTTP_409_CONFLICT


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "detail": detail}


def _drf_code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.NotAuthenticated):
        return "not_authenticated"
    if isinstance(exc, exceptions.AuthenticationFailed):
        codes = exc.get_codes()
        return codes if isinstance(codes, str) and codes != "authentication_failed" else "invalid_api_key"
    if isinstance(exc, exceptions.PermissionDenied):
        codes = exc.get_codes()
        return codes if isinstance(codes, str) and codes != "permission_denied" else "forbidden"
    if isinstance(exc, exceptions.ValidationError):
        return "invalid_request"
    if isinstance(exc, exceptions.ParseError):
        return "malformed_request"
    if isinstance(exc, exceptions.NotFound):
        return "not_found"
    if isinstance(exc, exceptions.MethodNotAllowed):
        return "method_not_allowed"
    if isinstance(exc, exceptions.NotAcceptable):
        return "not_acceptable"
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return "unsupported_media_type"
    if isinstance(exc, exceptions.Throttled):
        return "rate_limited"
    return str(exc.default_code)


DATABASE_RETRY_AFTER_S = 5


def _database_unavailable(exc: BaseException | None, where: str) -> bool:
    from governance.degradation import database_unavailable, is_database_unavailable

    if exc is None or not is_database_unavailable(exc):
        return False
    database_unavailable(where, exc)
    return True


def _database_unavailable_body() -> dict[str, Any]:
    return error_body("database_unavailable", "The database is unavailable; retry shortly.")


def _render_as_json(context: dict[str, Any]) -> None:
    # Errors are JSON whatever the client asked for (a CSV report's 400 is not a CSV): the
    # renderer DRF negotiated for the success case is replaced before the response is finalized.
    request = context.get("request")
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: every error leaves as the one JSON shape, always as JSON."""
    _render_as_json(context)
    if _database_unavailable(exc, "api"):
        return Response(
            _database_unavailable_body(),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )
    if isinstance(exc, ArbiterError):
        return Response(error_body(exc.code, exc.message, exc.detail), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        headers: dict[str, str] = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = str(exc.auth_header)  # type: ignore[attr-defined]
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        if isinstance(exc, exceptions.ValidationError):
            message, detail = "The request is not valid; see detail.", exc.detail
        else:
            message, detail = str(exc.detail), None
        return Response(error_body(_drf_code(exc), message, detail), status=exc.status_code, headers=headers)
    log.exception("api.unhandled_error", view=type(context.get("view")).__name__)
    return Response(
        error_body("internal_error", "An internal error occurred; it has been logged with the trace id."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def json_error(request: HttpRequest, code: str, message: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return json_error(request, "not_found", "No such endpoint.", 404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception, so it is still in sys.exc_info().
    if _database_unavailable(sys.exc_info()[1], "web"):
        if _wants_json(request):
            response: HttpResponse = JsonResponse(_database_unavailable_body(), status=503)
        else:
            response = HttpResponse(
                "<!doctype html><title>Database unavailable</title><h1>Database unavailable</h1>"
                "<p>Arbiter cannot reach its database. Try again in a moment.</p>",
                status=503,
            )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response
    if _wants_json(request):
        return json_error(request, "internal_error", "An internal error occurred; it has been logged.", 500)
    return defaults.server_error(request)
