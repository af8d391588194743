from __future__ import annotations

import pytest

from governance.tracing import context_from_traceparent, parse_traceparent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def test_parse_valid_traceparent():
    assert parse_traceparent(f"00-{TRACE}-{PARENT}-01") == (TRACE, PARENT, True)


@pytest.mark.parametrize("header", ["", "garbage", f"00-{'0' * 32}-{PARENT}-01", f"00-{TRACE}-{'0' * 16}-01"])
def test_invalid_traceparent_starts_a_new_trace(header):
    ctx = context_from_traceparent(header)
    assert len(ctx.trace_id) == 32
    assert ctx.trace_id != TRACE
    assert ctx.parent_span_id is None


@pytest.mark.django_db
def test_response_continues_the_callers_trace(alice):
    response = alice.client().get("/api/v1/whoami", HTTP_TRACEPARENT=f"00-{TRACE}-{PARENT}-01")
    assert response.json()["trace_id"] == TRACE
    assert response["traceparent"].startswith(f"00-{TRACE}-")
    assert PARENT not in response["traceparent"]  # our own span id, child of the caller's
    assert response["X-Request-ID"] == TRACE


@pytest.mark.django_db
def test_request_without_traceparent_gets_a_new_trace(alice):
    response = alice.client().get("/api/v1/whoami", HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"
    trace_id = response.json()["trace_id"]
    assert response["traceparent"].split("-")[1] == trace_id


def test_trace_id_is_bound_into_log_lines():
    import io
    import logging

    from governance.tracing import activate, context_from_traceparent

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.getLogger().handlers[0].formatter)  # the configured structlog renderer
    logger = logging.getLogger("arbiter.test")
    logger.addHandler(handler)
    try:
        with activate(context_from_traceparent(f"00-{TRACE}-{PARENT}-01")):
            logger.warning("inside the trace")
        logger.warning("after the trace")
    finally:
        logger.removeHandler(handler)
    inside, after = stream.getvalue().splitlines()
    assert TRACE in inside
    assert TRACE not in after
