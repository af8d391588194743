from __future__ import annotations

import pytest

from governance import tracing
from governance.tasks import ping

TRACE = "0af7651916cd43dd8448eb211c80319c"


def test_eager_task_runs_in_the_callers_trace():
    ctx = tracing.context_from_traceparent(f"00-{TRACE}-b7ad6b7169203331-01")
    with tracing.activate(ctx):
        assert ping.delay().get()["trace_id"] == TRACE


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_continues_the_trace_of_the_request_that_queued_it(celery_worker):
    ctx = tracing.context_from_traceparent(f"00-{TRACE}-b7ad6b7169203331-01")
    with tracing.activate(ctx):
        result = ping.delay()
    assert result.get(timeout=30) == {"pong": "ok", "trace_id": TRACE}
