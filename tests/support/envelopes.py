"""What Arbiter writes obeys what it publishes: envelopes, as the API returns them, validate
against the published decision-envelope JSON Schema (``governance/schemas/decision-envelope.v1.json``).

Every app that writes envelopes checks each kind it writes, in the tests that make them::

    from tests.support.envelopes import assert_envelopes_conform

    assert_envelopes_conform(DecisionEnvelope.objects.filter(decision_type="llm_call"))

The envelope is rendered exactly as ``GET /api/v1/envelopes/{id}`` renders it (the API's
serializer and JSON renderer) and validated with ``jsonschema`` (draft 2020-12, formats
asserted: ``uuid``, ``date-time``), so a writer that stores a null where the schema says
string, or a verdict without ``verdict``, fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import jsonschema
from rest_framework.renderers import JSONRenderer

from governance.api.provenance_serializers import EnvelopeOutSerializer
from governance.models import DecisionEnvelope
from governance.schemas import load_schema

_VALIDATOR = jsonschema.Draft202012Validator(
    load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def envelope_document(envelope: DecisionEnvelope) -> dict[str, Any]:
    """The envelope as the API sends it (JSON round trip through DRF's renderer)."""
    document: dict[str, Any] = json.loads(JSONRenderer().render(EnvelopeOutSerializer(envelope).data))
    return document


def envelope_conformance_errors(envelope: DecisionEnvelope) -> list[str]:
    """``"<json pointer>: <message>"`` for each way the envelope breaks the published schema."""
    document = envelope_document(envelope)
    errors = sorted(_VALIDATOR.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def assert_envelopes_conform(
    envelopes: Iterable[DecisionEnvelope], *, expect_kinds: Iterable[str] = (), expect_outcomes: Iterable[str] = ()
) -> list[DecisionEnvelope]:
    """Assert every envelope validates against the published schema; returns them.

    Refuses an empty selection (a conformance test that checked nothing proves nothing), and
    with `expect_kinds`/`expect_outcomes` asserts those decision types/outcomes are among them,
    so a test cannot silently stop producing the kind it claims to check.
    """
    checked = list(envelopes)
    assert checked, "no envelopes to check"
    failures = {
        f"{e.decision_type}/{e.outcome} {e.pk}": errors for e in checked if (errors := envelope_conformance_errors(e))
    }
    assert not failures, "envelopes that do not conform to the published schema:\n" + json.dumps(
        failures, indent=2, ensure_ascii=False
    )
    missing_kinds = set(expect_kinds) - {e.decision_type for e in checked}
    assert not missing_kinds, f"no envelope of kind {sorted(missing_kinds)} was checked"
    missing_outcomes = set(expect_outcomes) - {e.outcome for e in checked}
    assert not missing_outcomes, f"no envelope with outcome {sorted(missing_outcomes)} was checked"
    return checked
