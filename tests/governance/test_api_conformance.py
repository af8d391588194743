"""Every API operation against its own OpenAPI schema, with schemathesis (issue 8, item 11).

The schema is the one the API serves (``/api/schema/``), loaded through the WSGI app at
collection time, so **every operation is a test case automatically**: an endpoint added to any
app's ``api/urls.py`` is exercised here the next time the suite runs, with no change to this file.
Each operation gets a bounded number of generated requests (positive and negative data, the
schema's examples, and schemathesis's coverage phase), authenticated with a key that has every
scope, and every response is held to all of schemathesis's checks: no 5xx, a documented status
code, content type and body, negative data refused, unauthenticated requests refused, and so on.

See DEVELOPERS.md ("A new endpoint") for what a new endpoint needs to pass.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from governance.services.envelopes import envelope_append
from governance.wsgi import application

# 25 generated requests per operation keeps the whole run near a minute. CI runs a fixed (derandomized)
# sequence so an unrelated change never turns it red; ARBITER_FUZZ_EXAMPLES=500 ARBITER_FUZZ_RANDOM=1
# explores further on a developer's machine.
EXAMPLES_PER_OPERATION = int(os.environ.get("ARBITER_FUZZ_EXAMPLES", "25"))
DETERMINISTIC = os.environ.get("ARBITER_FUZZ_RANDOM") != "1"

config = schemathesis.Config.from_dict(
    {
        # allow-x00: every string the API stores refuses NUL (PostgreSQL cannot store it); the API's
        # description says so, but JSON Schema has no way to state it for every string.
        # allow-extra-parameters: unknown query parameters are ignored by design (a tolerant reader).
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES_PER_OPERATION,
            "allow-x00": False,
            "allow-extra-parameters": False,
            "deterministic": DETERMINISTIC,
            "database": "none",
        },
        "phases": {"stateful": {"enabled": False}},
        # A body above the request limit (ARBITER_MAX_REQUEST_BYTES) is refused with 413, as HTTP says.
        "checks": {
            "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422]}
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=config)

# Rules that relate two fields (JSON Schema cannot state them) are documented in the fields'
# descriptions and enforced with a 400 naming the rule. A generated request that breaks one is not
# "valid data the API must accept", so for such a 400 (and only for it) positive_data_acceptance is
# not applied; every other check still is.
CROSS_FIELD_RULES = (
    "A report covers at most 367 days",  # reports: end - start <= 366 days (end defaults to today)
    "start is after end",
    "end is before start",
    "cannot exceed input_tokens",  # usage: cached_tokens + cache_write_tokens <= input_tokens
)


def _refused_by_a_cross_field_rule(response: Any) -> bool:
    return response.status_code == 400 and any(rule in response.text for rule in CROSS_FIELD_RULES)


@pytest.fixture
def _test_connection_survives_requests():
    # schemathesis calls the WSGI app directly, which closes "old" connections when a request ends:
    # inside the test's transaction that is the test's own connection. Django's test client
    # disconnects the same receiver for the same reason.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def all_scopes_key(alice, _test_connection_survives_requests) -> str:
    # Something to find for operations that read: one flagged envelope (it opens a review item).
    envelope_append(project=alice.project, decision_type="external", outcome="flagged", input="refund 1")
    return str(alice.key)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
@pytest.mark.django_db
def test_every_operation_conforms_to_the_published_schema(case, all_scopes_key):
    headers = {"Authorization": f"Bearer {all_scopes_key}"}
    response = case.call(headers=headers)
    excluded = [positive_data_acceptance] if _refused_by_a_cross_field_rule(response) else []
    case.validate_response(response, headers=headers, excluded_checks=excluded)
