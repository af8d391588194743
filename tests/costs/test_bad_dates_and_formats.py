"""Year 9999, NUL in an address, and errors asked for as CSV (issue 8, items 6 and 11)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from governance.services.projects import project_create

pytestmark = pytest.mark.django_db

REPORTS = ["cost-per-outcome", "recompute", "margin", "missing-prices"]


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize("query", ["end=9999-12-31", "start=9999-12-30&end=9999-12-31", "end=0001-01-01"])
def test_report_windows_at_the_ends_of_the_calendar_are_400(alice, report, query):
    response = alice.client().get(f"/api/v1/reports/{report}?{query}")
    assert response.status_code == 400, response.content
    assert "between 1970 and 2999" in str(response.json()["detail"])


@pytest.mark.parametrize("url", ["/api/v1/usage", "/api/v1/outcomes"])
def test_occurred_at_in_year_9999_for_a_utc_plus_14_project_is_a_400(make_key, url):
    project = project_create(slug="kiritimati", name="Line Islands")
    project.time_zone = "Pacific/Kiritimati"  # UTC+14: 9999-12-31T23:00Z is in year 10000 there
    project.save()
    persona = make_key(project=project)
    record: dict[str, Any] = {"client_id": "c1", "occurred_at": "9999-12-31T23:00:00Z", "trace_id": "t1"}
    if url.endswith("usage"):
        record |= {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1, "output_tokens": 1}
    else:
        record |= {"kind": "ticket_resolved", "success": True}
    response = persona.client().post(url, [record], format="json")
    assert response.status_code == 400, response.content
    assert "occurred_at" in response.json()["detail"][0]


@pytest.mark.parametrize("report", REPORTS)
def test_a_report_error_asked_for_as_csv_is_json(alice, report):
    response = alice.client().get(f"/api/v1/reports/{report}?format=csv&start=2026-02-01&end=2025-01-01")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid_request"
    response = alice.client().get(f"/api/v1/reports/{report}?start=nope", HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def test_an_unknown_or_empty_format_is_a_406_in_json(alice):
    for query in ("format=xml", "format="):
        response = alice.client().get(f"/api/v1/reports/recompute?{query}")
        assert response.status_code == 406, query
        assert response.json()["code"] == "not_acceptable"


def test_an_empty_start_is_refused_not_ignored(alice):
    response = alice.client().get("/api/v1/reports/recompute?start=")
    assert response.status_code == 400
    assert "start" in response.json()["detail"]


def test_admin_cost_dashboard_in_year_9999_shows_the_form_error(admin_client, alice_project):
    url = reverse("admin:costs_dashboard", args=["recompute"])
    response = admin_client.get(url, {"project": alice_project.pk, "start": "9999-12-30", "end": "9999-12-31"})
    assert response.status_code == 200
    assert "between 1970 and 2999" in response.content.decode()


def test_admin_list_filtered_by_nul_is_a_400_page(admin_client):
    response = admin_client.get("/admin/governance/span/?trace_id=%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "NUL" in response.content.decode()


def test_api_path_with_nul_is_a_json_400(alice):
    response = alice.client().get("/api/v1/traces/%00")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_characters"
