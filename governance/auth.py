"""API-key authentication, scope permissions and per-key throttling for the REST API.

Keys look like ``arb_<prefix>_<secret>``. The prefix finds the row; the secret is compared
by SHA-256 digest in constant time. A key belongs to one project, and every view scopes its
queryset to ``request.auth.project``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from governance.models import ApiKey, Project
from governance.services.api_keys import api_key_find, api_key_split, api_key_touch

if TYPE_CHECKING:
    # Imported for types only: DRF imports this module while rest_framework.views is still loading.
    from rest_framework.views import APIView


@dataclass(frozen=True)
class ApiPrincipal:
    """``request.user`` for an API call: the service behind one key."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def project(self) -> Project:
        return self.api_key.project

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.", code="invalid_api_key")
        api_key = self.authenticate_token(token.strip())
        return ApiPrincipal(api_key), api_key

    def authenticate_token(self, token: str) -> ApiKey:
        if api_key_split(token) is None:
            raise exceptions.AuthenticationFailed("Malformed API key.", code="invalid_api_key")
        api_key = api_key_find(token=token)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        now = timezone.now()
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.", code="api_key_revoked")
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API key has expired.", code="api_key_expired")
        api_key_touch(api_key=api_key, now=now)
        return api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="arbiter"'


class XApiKeyAuthentication(ApiKeyAuthentication):
    """The same keys in an ``x-api-key`` header, for clients that send keys that way (e.g. LiteLLM)."""

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiKey] | None:
        token = request.headers.get("x-api-key", "").strip()
        if not token:
            return None
        api_key = self.authenticate_token(token)
        return ApiPrincipal(api_key), api_key


class XApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "governance.auth.XApiKeyAuthentication"
    name = "XApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "x-api-key"}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "governance.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "arb_<prefix>_<secret>"}


class HasApiKeyScopes(permissions.BasePermission):
    """Deny by default: an authenticated key with every scope the view names in ``required_scopes``.

    A view may give ``required_scopes`` as a dict by HTTP method (``{"GET": {...}, "POST": {...}}``).
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise exceptions.NotAuthenticated("Send 'Authorization: Bearer <api key>'.")
        required = getattr(view, "required_scopes", None)
        if isinstance(required, dict):
            required = required.get(request.method or "GET")
        if required is None:
            raise exceptions.PermissionDenied("This endpoint declares no scopes.", code="forbidden")
        missing = sorted(set(required) - set(api_key.scopes))
        if missing:
            raise exceptions.PermissionDenied(
                f"This API key lacks the scope(s): {', '.join(missing)}.", code="missing_scope"
            )
        return True


class ApiKeyRateThrottle(throttling.BaseThrottle):
    """``ARBITER_API_RATE`` requests per key, in the shared rate limiter (``governance.ratelimit``).

    One atomic step per request (a Lua script in Redis, a lock in memory), so concurrent
    workers cannot lose updates; with Redis unreachable each process limits on its own
    (``governance.degradation``) and the request is served.
    """

    def __init__(self) -> None:
        self.retry_after_s = 0.0

    def allow_request(self, request: Request, view: APIView) -> bool:
        from governance.degradation import api_limiter, api_rate

        api_key = request.auth
        key = f"api_key:{api_key.pk}" if isinstance(api_key, ApiKey) else f"ip:{self.get_ident(request)}"
        decision = api_limiter().try_acquire(key, api_rate())
        self.retry_after_s = decision.retry_after_s
        return decision.admitted

    def wait(self) -> float | None:
        # Whole seconds, rounded up: a client that waits this long is admitted.
        return float(math.ceil(self.retry_after_s))
