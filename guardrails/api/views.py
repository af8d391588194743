"""Guard check API: single, batch, and LiteLLM's Generic Guardrail API contract."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.auth import ApiKeyAuthentication, XApiKeyAuthentication
from governance.models import ApiKey
from guardrails import services
from guardrails.api.serializers import (
    GuardBatchIn,
    GuardBatchOut,
    GuardCheckIn,
    GuardCheckOut,
    LiteLlmGuardrailIn,
    LiteLlmGuardrailOut,
)
from guardrails.engine import Decision


def _render(check: services.GuardCheck) -> dict[str, Any]:
    result = check.result
    return {
        "decision": str(result.decision),
        "text": result.text,
        "hits": [hit.to_dict() for hit in result.hits],
        "errors": [error.to_dict() for error in result.errors],
        "policy": check.policy.slug,
        "policy_version": result.policy_version,
        "latency_ms": {t.label: round(ms, 3) for t, ms in result.latency_ms.items()},
        "envelope_id": str(check.envelope.pk),
        "trace_id": check.trace_id,
    }


# The service's own errors (the shared 4xx are added to every operation by governance.api.openapi).
_ERRORS = {
    404: OpenApiResponse(description="`unknown_policy`: no such guard policy in the key's project."),
    409: OpenApiResponse(description="`policy_unpublished`: the policy has no published version."),
    413: OpenApiResponse(description="`text_too_large`: a text is above the absolute limit."),
}


def _text(value: Any, limit: int = 200) -> str:
    """A label from LiteLLM's metadata: strings as they are (cut to ``limit``), anything else ignored."""
    return value[:limit] if isinstance(value, str) else ""


def _key(request: Request) -> ApiKey:
    assert isinstance(request.auth, ApiKey)  # guaranteed by HasApiKeyScopes
    return request.auth


class GuardCheckApi(APIView):
    required_scopes = frozenset({"guard:check"})

    @extend_schema(
        operation_id="guard_check", request=GuardCheckIn, responses={200: GuardCheckOut, **_ERRORS}, tags=["guardrails"]
    )
    def post(self, request: Request) -> Response:
        data = GuardCheckIn(data=request.data)
        data.is_valid(raise_exception=True)
        key = _key(request)
        check = services.check(
            project=key.project,
            policy_slug=data.validated_data["policy"],
            stage=data.validated_data["stage"],
            text=data.validated_data["text"],
            context=data.validated_data["context"],
            api_key=key,
        )
        return Response(_render(check))


class GuardCheckBatchApi(APIView):
    required_scopes = frozenset({"guard:check"})

    @extend_schema(
        operation_id="guard_check_batch",
        request=GuardBatchIn,
        responses={200: GuardBatchOut, **_ERRORS},
        tags=["guardrails"],
    )
    def post(self, request: Request) -> Response:
        data = GuardBatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        key = _key(request)
        checks = services.check_batch(
            project=key.project,
            policy_slug=data.validated_data["policy"],
            stage=data.validated_data["stage"],
            texts=data.validated_data["texts"],
            context=data.validated_data["context"],
            api_key=key,
        )
        return Response({"results": [_render(c) for c in checks]})


class LiteLlmGuardrailApi(APIView):
    """LiteLLM's Generic Guardrail API. In LiteLLM's config::

    guardrail: generic_guardrail_api
    api_base: https://<arbiter>/api/v1/guard/litellm
    api_key: os.environ/ARBITER_API_KEY
    additional_provider_specific_params: {policy: default}
    """

    authentication_classes = [ApiKeyAuthentication, XApiKeyAuthentication]
    required_scopes = frozenset({"guard:check"})

    @extend_schema(
        operation_id="guard_litellm_generic_guardrail",
        request=LiteLlmGuardrailIn,
        responses={200: LiteLlmGuardrailOut, **_ERRORS},
        tags=["guardrails"],
    )
    def post(self, request: Request) -> Response:
        data = LiteLlmGuardrailIn(data=request.data)
        data.is_valid(raise_exception=True)
        # Null means absent in LiteLLM's wire format (it serializes every optional field).
        params = data.validated_data.get("additional_provider_specific_params") or {}
        request_data = data.validated_data.get("request_data") or {}
        texts: list[str] = data.validated_data.get("texts") or []
        policy = params.get("policy")
        if policy is not None and not isinstance(policy, str):
            message = "must be a policy slug (string)."
            raise ValidationError({"additional_provider_specific_params": {"policy": message}})
        key = _key(request)
        checks = services.check_batch(
            project=key.project,
            policy_slug=policy or "default",
            stage="input" if data.validated_data["input_type"] == "request" else "output",
            texts=texts,
            context={
                "feature": _text(params.get("feature")) or "litellm",
                "customer": _text(request_data.get("user_api_key_team_alias"))
                or _text(request_data.get("user_api_key_team_id")),
                "end_user": _text(request_data.get("user_api_key_end_user_id")) or None,
                "litellm_call_id": data.validated_data.get("litellm_call_id"),
            },
            api_key=key,
        )
        blocked = [c for c in checks if c.result.decision is Decision.BLOCK]
        if blocked:
            rules = sorted({hit.rule_name for c in blocked for hit in c.result.hits})
            reason = f"Blocked by Arbiter policy {blocked[0].policy.slug!r}"
            reason += f" (rules: {', '.join(rules)})" if rules else " (a guard failed closed)"
            return Response({"action": "BLOCKED", "blocked_reason": reason})
        if any(c.result.text != text for c, text in zip(checks, texts, strict=True)):
            return Response({"action": "GUARDRAIL_INTERVENED", "texts": [c.result.text for c in checks]})
        return Response({"action": "NONE"})
