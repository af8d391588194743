"""Admin: the dashboards render with data, the price-list import, append-only ledgers, budgets saved via the service."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from costs.models import BudgetCounter, ModelPrice
from costs.pricing import usd_to_nanos
from costs.services.budgets import budget_counter_current

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("report", ["cost-per-outcome", "recompute", "margin", "burn-down", "missing-prices"])
def test_dashboards_render_with_charts(admin_client, fixture_rows, make_budget, report, django_assert_max_num_queries):
    make_budget(fixture_rows, "10", name="monthly")
    url = reverse("admin:costs_dashboard", args=[report])
    with django_assert_max_num_queries(40):
        response = admin_client.get(url, {"project": fixture_rows.pk, "start": "2025-03-01", "end": "2025-03-02"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "<table" in content
    if report != "missing-prices":
        assert "<svg" in content
    if report == "margin":
        assert "-3.000000" in content


def test_dashboard_filters_are_validated_and_home_redirects(admin_client, alice_project):
    response = admin_client.get(
        reverse("admin:costs_dashboard", args=["margin"]), {"start": "2025-03-05", "end": "2025-03-01"}
    )
    assert response.status_code == 200
    assert "The end is before the start" in response.content.decode()
    assert admin_client.get(reverse("admin:costs_dashboard", args=["nope"])).status_code == 302
    assert admin_client.get(reverse("admin:costs_dashboard_home")).status_code == 200


def test_price_list_import_in_the_admin(admin_client):
    url = reverse("admin:costs_modelprice_import")
    assert admin_client.get(url).status_code == 200
    csv = b"provider,model,input_per_mtok,output_per_mtok,effective_from\nopenai,gpt-4o,2.5,10,2024-05-13\n"
    response = admin_client.post(url, {"file": SimpleUploadedFile("prices.csv", csv)})
    assert response.status_code == 302
    assert ModelPrice.objects.get().input_per_mtok == Decimal("2.5")
    bad = admin_client.post(url, {"file": SimpleUploadedFile("p.json", b'[{"provider": "x"}]')})
    assert bad.status_code == 200
    assert "invalid rows" in bad.content.decode()
    assert ModelPrice.objects.count() == 1


def test_ledgers_are_read_only(admin_client, fixture_rows):
    from costs.models import UsageRecord

    record = UsageRecord.objects.earliest("occurred_at")
    assert admin_client.get(reverse("admin:costs_usagerecord_change", args=[record.pk])).status_code == 200
    assert (
        admin_client.post(reverse("admin:costs_usagerecord_delete", args=[record.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert admin_client.get(reverse("admin:costs_usagerecord_add")).status_code == 403


def test_editing_a_budget_limit_moves_its_open_counter(admin_client, alice_project, make_budget):
    budget = make_budget(alice_project, "10", name="monthly")
    counter = budget_counter_current(budget=budget)
    url = reverse("admin:costs_budget_change", args=[budget.pk])
    form = {
        "project": alice_project.pk, "name": "monthly", "scope": "project", "scope_value": "", "period": "month",
        "limit_usd": "25", "soft_alert_pct": 80, "mode": "hard", "enabled": "on",
        "counters-TOTAL_FORMS": 1, "counters-INITIAL_FORMS": 1, "counters-MIN_NUM_FORMS": 0,
        "counters-MAX_NUM_FORMS": 1000, "counters-0-id": counter.pk, "counters-0-budget": budget.pk,
    }  # fmt: skip
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert BudgetCounter.objects.get(pk=counter.pk).limit_nanos == usd_to_nanos(25)
