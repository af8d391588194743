from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from governance import jsonlimits
from governance.api.fields import AnyJsonField, StrictJsonSerializer
from governance.api.validators import JsonBoundsValidator
from guardrails.engine import ABSOLUTE_MAX_CHARS

STAGES = ["input", "output"]


class GuardText(serializers.CharField):
    """A text to check. Lone surrogates are refused by one UTF-8 encode (C speed) instead of DRF's
    per-character validator, which costs ~0.1 ms per KB on the hot path."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", ABSOLUTE_MAX_CHARS)
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitSurrogateCharactersValidator)]

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            # DRF's CharField turns 0 into "0"; a text to check is a JSON string, nothing else.
            self.fail("invalid")
        value = super().to_internal_value(data)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise serializers.ValidationError(
                "The text contains lone surrogate characters (not valid Unicode)."
            ) from exc
        return value


class GuardCheckIn(StrictJsonSerializer):
    policy = serializers.SlugField(default="default", help_text="Slug of a guard policy in the key's project.")
    stage = serializers.ChoiceField(choices=STAGES)
    text = GuardText()
    context = serializers.DictField(  # type: ignore[assignment]  # a field, popped by DRF's metaclass
        required=False,
        default=dict,
        validators=[JsonBoundsValidator(jsonlimits.FREE_FORM)],
        help_text=(
            "Optional: feature, customer, end_user (opaque id), system_prompt and canary_tokens "
            "(for prompt-leak rules on outputs). At most 16 KiB of JSON, 32 levels deep."
        ),
    )


class GuardBatchIn(StrictJsonSerializer):
    policy = serializers.SlugField(default="default")
    stage = serializers.ChoiceField(choices=STAGES)
    texts = serializers.ListField(
        child=GuardText(),
        min_length=1,
        max_length=100,
    )
    context = serializers.DictField(  # type: ignore[assignment]
        required=False, default=dict, validators=[JsonBoundsValidator(jsonlimits.FREE_FORM)]
    )


class HitOut(serializers.Serializer[Any]):
    rule_id = serializers.JSONField()
    rule_name = serializers.CharField()
    kind = serializers.CharField()
    tier = serializers.ChoiceField(choices=["rules", "classifier", "llm_guard"])
    action = serializers.CharField()
    severity = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    entity = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    detail = serializers.CharField()


class GuardErrorOut(serializers.Serializer[Any]):
    rule_id = serializers.JSONField()
    rule_name = serializers.CharField()
    tier = serializers.ChoiceField(choices=["rules", "classifier", "llm_guard"])
    error_code = serializers.CharField()
    message = serializers.CharField()
    fail_mode_applied = serializers.CharField()


class GuardCheckOut(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=["allow", "block", "redact", "flag"])
    text = serializers.CharField(help_text="The redacted text when redaction applied, else the original.")
    hits = HitOut(many=True)
    errors = GuardErrorOut(  # type: ignore[assignment]  # a field, popped by DRF's metaclass
        many=True, help_text="Guard errors, with the fail mode applied (never silent)."
    )
    policy = serializers.CharField()
    policy_version = serializers.IntegerField()
    latency_ms = serializers.DictField(
        child=serializers.FloatField(), help_text="Per tier: rules, classifier, llm_guard."
    )
    envelope_id = serializers.CharField()
    trace_id = serializers.CharField()


class GuardBatchOut(serializers.Serializer[Any]):
    results = GuardCheckOut(many=True)


def _ignored(help_text: str) -> Any:
    return AnyJsonField(required=False, help_text=help_text)


class LiteLlmGuardrailIn(StrictJsonSerializer):
    """LiteLLM's Generic Guardrail API request (POST {api_base}/beta/litellm_basic_guardrail_api).

    A tolerant reader of LiteLLM's wire format: LiteLLM serializes every optional field of its
    request model, so absent values arrive as ``null`` (``"images": null, "tools": null``), and
    newer releases add fields. Every field but ``input_type`` may be null or missing, and fields
    Arbiter does not know are ignored. ``tests/guardrails/test_litellm_integration.py`` runs the
    real ``litellm`` package against a live Arbiter to keep this true.
    """

    texts = serializers.ListField(
        child=GuardText(), max_length=200, required=False, allow_null=True, help_text="The texts to check."
    )
    input_type = serializers.ChoiceField(choices=["request", "response"])
    request_data = serializers.DictField(
        required=False,
        allow_null=True,
        validators=[JsonBoundsValidator(jsonlimits.FREE_FORM)],
        help_text="LiteLLM's user_api_key_* metadata (team alias or id becomes the customer).",
    )
    litellm_call_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    litellm_trace_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    additional_provider_specific_params = serializers.DictField(
        required=False,
        allow_null=True,
        validators=[JsonBoundsValidator(jsonlimits.FREE_FORM)],
        help_text='{"policy": "<slug>"} picks the policy (default: "default"); "feature" labels the check.',
    )
    images = _ignored("Accepted and ignored (Arbiter checks texts).")
    tools = _ignored("Accepted and ignored.")
    tool_calls = _ignored("Accepted and ignored.")
    structured_messages = _ignored("Accepted and ignored (the texts carry the content).")
    request_headers = _ignored("Accepted and ignored.")
    litellm_version = _ignored("Accepted and ignored.")
    model = _ignored("Accepted and ignored.")


class LiteLlmGuardrailOut(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["BLOCKED", "NONE", "GUARDRAIL_INTERVENED"])
    blocked_reason = serializers.CharField(required=False)
    texts = serializers.ListField(child=serializers.CharField(), required=False)
