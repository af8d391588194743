"""Report windows that only become invalid once defaults are applied are 400s, not 500s (found by schemathesis)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    ["start=3855-05-22", "start=9965-08-23&format=json", "end=0001-01-02", "start=2020-01-01"],
    ids=["start-after-today", "far-future", "end-underflows-default-start", "window-too-long"],
)
@pytest.mark.parametrize("report", ["cost-per-outcome", "recompute", "margin", "missing-prices"])
def test_bad_windows_are_400(alice, report, query):
    response = alice.client().get(f"/api/v1/reports/{report}?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_request"
