"""Input and output serializers for the provenance API (envelopes, traces, reviews)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from jsonschema import Draft202012Validator
from rest_framework import serializers

from governance import jsonlimits
from governance.api.fields import AnyJsonField, BoundedDateTimeField, StrictJsonSerializer
from governance.api.validators import JsonBoundsValidator
from governance.models import DecisionEnvelope, Review, Span
from governance.models.provenance import DecisionType, Outcome, ReviewAction, ReviewState
from governance.schemas import load_schema
from governance.selectors import SpanNode, Trace


def json_pointer(path: Any) -> str:
    """RFC 6901 pointer for a jsonschema error path (``""`` is the whole document)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


_validator: Draft202012Validator | None = None

# Bounds of the envelope's free-form fields (see governance/jsonlimits.py for the table).
ENVELOPE_FIELD_BOUNDS = {
    "input": jsonlimits.CONTENT,
    "output": jsonlimits.CONTENT,
    **dict.fromkeys(["actor", "versions", "verdicts", "evidence", "cost", "attributes"], jsonlimits.FREE_FORM),
}


def envelope_schema_errors(body: Any) -> list[dict[str, str]]:
    """Every way ``body`` breaks the published schema, each with its JSON-pointer ``path``.

    Read-only properties (assigned by Arbiter) are refused too: the schema marks them with
    ``readOnly``, which JSON Schema validation itself does not enforce. Formats (``uuid``) are
    checked, and free-form fields are held to their size and depth bounds.
    """
    global _validator
    schema = load_schema()
    if _validator is None:
        _validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [
        {"path": json_pointer(e.absolute_path), "message": e.message, "keyword": str(e.validator)}
        for e in sorted(_validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if isinstance(body, dict):
        properties = schema["properties"]
        for name in body:
            if properties.get(name, {}).get("readOnly"):
                errors.append({"path": f"/{name}", "message": "is read-only (set by Arbiter)", "keyword": "readOnly"})
        actor = body.get("actor")
        if isinstance(actor, dict) and "api_key_id" in actor:
            message = "is read-only (set by Arbiter)"
            errors.append({"path": "/actor/api_key_id", "message": message, "keyword": "readOnly"})
        for name, bounds in ENVELOPE_FIELD_BOUNDS.items():
            problem = jsonlimits.json_problem(body.get(name), bounds, root=(name,)) if name in body else None
            if problem is not None:
                errors.append({"path": problem.path, "message": problem.message, "keyword": problem.code})
    return errors


def envelope_write_schema() -> dict[str, Any]:
    """The published envelope schema as a request body: the properties a producer may send."""

    def writable(node: Any) -> Any:
        if isinstance(node, dict):
            properties = node.get("properties")
            copy = {k: writable(v) for k, v in node.items() if k not in ("$schema", "$id")}
            if isinstance(properties, dict):
                copy["properties"] = {
                    name: writable(sub)
                    for name, sub in properties.items()
                    if not (isinstance(sub, dict) and sub.get("readOnly"))
                }
            return copy
        if isinstance(node, list):
            return [writable(item) for item in node]
        return node

    result: dict[str, Any] = writable(load_schema())
    return result


class EnvelopeOutSerializer(serializers.ModelSerializer[DecisionEnvelope]):
    """An envelope as the schema describes it (``governance/schemas/decision-envelope.v1.json``)."""

    project = serializers.CharField(source="project.slug")
    parent_id = serializers.UUIDField(allow_null=True)
    actor = serializers.JSONField()
    input = AnyJsonField()
    output = AnyJsonField()
    versions = serializers.JSONField()
    verdicts = serializers.JSONField()
    evidence = AnyJsonField()
    cost = AnyJsonField()
    attributes = serializers.JSONField()
    risk = serializers.SerializerMethodField()
    review_state = serializers.SerializerMethodField()

    class Meta:
        model = DecisionEnvelope
        fields = [
            "id",
            "schema_version",
            "project",
            "seq",
            "created_at",
            "trace_id",
            "span_id",
            "parent_id",
            "decision_type",
            "actor",
            "input",
            "output",
            "input_hash",
            "output_hash",
            "content_storage",
            "content_note",
            "content_purged_at",
            "versions",
            "verdicts",
            "outcome",
            "confidence",
            "rationale",
            "evidence",
            "cost",
            "latency_ms",
            "needs_review",
            "risk",
            "review_state",
            "attributes",
            "content_hash",
            "prev_hash",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["low", "medium", "high", "critical"], allow_null=True))
    def get_risk(self, obj: DecisionEnvelope) -> str | None:
        return obj.risk or None

    @extend_schema_field(serializers.ChoiceField(choices=ReviewState.choices))
    def get_review_state(self, obj: DecisionEnvelope) -> str:
        item = getattr(obj, "review_item", None)
        return item.state if item is not None else ReviewState.NONE


class EnvelopeFilterSerializer(serializers.Serializer[Any]):
    trace_id = serializers.RegexField(r"^[0-9a-f]{32}$", required=False)
    decision_type = serializers.ChoiceField(choices=DecisionType.choices, required=False)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    review_state = serializers.ChoiceField(choices=ReviewState.choices, required=False)
    created_after = BoundedDateTimeField(required=False, help_text="Inclusive, ISO 8601.")
    created_before = BoundedDateTimeField(required=False, help_text="Exclusive, ISO 8601.")


class SpanOutSerializer(serializers.ModelSerializer[Span]):
    attributes = serializers.JSONField()
    resource = serializers.JSONField()

    class Meta:
        model = Span
        fields = [
            "trace_id",
            "span_id",
            "parent_span_id",
            "name",
            "kind",
            "source",
            "service_name",
            "start_time",
            "end_time",
            "duration_ms",
            "status",
            "status_message",
            "attributes",
            "resource",
        ]
        read_only_fields = fields


def span_node_data(node: SpanNode) -> dict[str, Any]:
    data: dict[str, Any] = dict(SpanOutSerializer(node.span).data)
    data["children"] = [span_node_data(child) for child in node.children]
    return data


class SpanNodeSerializer(SpanOutSerializer):
    """A span with its child spans (recursively)."""

    children = serializers.ListField(child=serializers.DictField(), help_text="Child spans, same shape.")

    class Meta(SpanOutSerializer.Meta):
        fields = [*SpanOutSerializer.Meta.fields, "children"]
        read_only_fields = fields


class TraceOutSerializer(serializers.Serializer[Trace]):
    trace_id = serializers.CharField()
    span_count = serializers.IntegerField()
    spans = SpanNodeSerializer(many=True, help_text="Root spans; each carries its children.")
    envelopes = EnvelopeOutSerializer(many=True)


def trace_data(trace: Trace) -> dict[str, Any]:
    return {
        "trace_id": trace.trace_id,
        "span_count": trace.span_count,
        "spans": [span_node_data(root) for root in trace.roots],
        "envelopes": EnvelopeOutSerializer(trace.envelopes, many=True).data,
    }


class ReviewInSerializer(StrictJsonSerializer):
    action = serializers.ChoiceField(choices=ReviewAction.choices)
    note = serializers.CharField(help_text="Why; required.", max_length=4000)
    assignee = serializers.CharField(
        required=False, max_length=150, help_text="Username of the operator to assign (action assign)."
    )
    corrected_output = AnyJsonField(
        required=False,
        help_text="The corrected output (action override), any JSON up to 1 MiB.",
        validators=[JsonBoundsValidator(jsonlimits.CONTENT)],
    )


class ReviewOutSerializer(serializers.ModelSerializer[Review]):
    envelope_id = serializers.UUIDField()
    reviewer = serializers.CharField(source="reviewer_label")
    assignee = serializers.SerializerMethodField()
    correction_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = Review
        fields = ["id", "envelope_id", "action", "note", "reviewer", "assignee", "correction_id", "state_after"]
        fields += ["created_at"]
        read_only_fields = fields

    def get_assignee(self, obj: Review) -> str | None:
        return obj.assignee.get_username() if obj.assignee is not None else None
