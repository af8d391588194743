"""GET /api/v1/reports/...: personas, JSON and CSV, validation, schema."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

REPORTS = ["cost-per-outcome", "recompute", "margin", "budget-burn-down", "missing-prices"]
WINDOW = "start=2025-03-01&end=2025-03-02"


@pytest.mark.parametrize("name", REPORTS)
def test_alice_and_bob_read_their_project_charlie_sees_nothing_of_it(name, alice, bob, charlie, fixture_rows):
    url = f"/api/v1/reports/{name}?{WINDOW}"
    for persona in (alice, bob):
        response = persona.client().get(url)
        assert response.status_code == 200, response.content
        assert "rows" in response.json()
    if name != "budget-burn-down":
        assert alice.client().get(url).json()["rows"]
    charlie_rows = charlie.client().get(url).json()["rows"]
    if name == "recompute":  # one row per day, all zero
        assert {r["cost_usd"] for r in charlie_rows} == {"0.000000"}
    else:
        assert charlie_rows == []


@pytest.mark.parametrize("name", REPORTS)
def test_reports_need_a_key_with_costs_read(name, anon, make_key):
    assert anon.get(f"/api/v1/reports/{name}").status_code == 401
    response = make_key(scopes=["guard:check"]).client().get(f"/api/v1/reports/{name}")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


def test_cost_per_outcome_json_shape(alice, fixture_rows):
    body = alice.client().get(f"/api/v1/reports/cost-per-outcome?group_by=feature&{WINDOW}").json()
    support = next(r for r in body["rows"] if r["feature"] == "support")
    assert support["cost_usd"] == "4.500000"
    assert support["successful_outcomes"] == 1
    assert support["cost_per_outcome"] == "4.500000"


def test_csv_by_query_parameter_and_by_accept_header(alice, fixture_rows):
    response = alice.client().get(f"/api/v1/reports/margin?group_by=customer&{WINDOW}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "customer,value_usd,cost_usd,margin_usd,negative"
    assert lines[1] == "beta,1.000000,4.000000,-3.000000,True"
    by_accept = alice.client().get(f"/api/v1/reports/recompute?{WINDOW}", HTTP_ACCEPT="text/csv")
    assert by_accept.content.decode().startswith("day,cost_usd,retry_usd")


@pytest.mark.parametrize(
    ("query", "field"),
    [("start=2025-03-05&end=2025-03-01", "end"), ("start=nope", "start"), ("group_by=planet", "group_by"),
     ("source=cache", "source"), ("start=2020-01-01&end=2025-01-01", "start")],
)  # fmt: skip
def test_bad_report_queries_are_400_naming_the_parameter(alice, query, field):
    response = alice.client().get(f"/api/v1/reports/cost-per-outcome?{query}")
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_schema_lists_the_costs_endpoints(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in ["/api/v1/usage", "/api/v1/outcomes", *[f"/api/v1/reports/{n}" for n in REPORTS]]:
        assert path in paths
