"""Smoke tests over every registered ModelAdmin, and the API-key issuing flow."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import ApiKey

pytestmark = pytest.mark.django_db

MODEL_ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
#: No admin page may need more queries than this, whatever the number of rows.
QUERY_CEILING = 30


def _seed(label: str, slug: str) -> list[Any]:
    from governance.services.projects import project_create
    from tests.support.admin_rows import ROW_SEEDERS, SHARED_SEEDERS

    project = project_create(slug=slug, name=slug.title())
    rows = list(ROW_SEEDERS[label](project)) if label in ROW_SEEDERS else []
    return rows + (list(SHARED_SEEDERS[label]()) if label in SHARED_SEEDERS else [])


@pytest.mark.parametrize(("model", "model_admin"), MODEL_ADMINS, ids=[m._meta.label for m, _ in MODEL_ADMINS])
def test_every_admin_page_renders_with_rows_under_a_query_ceiling(
    admin_client, model, model_admin, django_assert_max_num_queries
):
    """Each changelist and change page renders with rows, and a list's queries do not grow with its rows."""
    label = model._meta.label
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    rows = _seed(label, "one")
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(changelist).status_code == 200
    rows += _seed(label, "two") + _seed(label, "three")
    with django_assert_max_num_queries(QUERY_CEILING) as many:
        response = admin_client.get(changelist)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    assert len(many) <= len(few), f"{label}: the list's queries grow with its rows (N+1): {len(few)} -> {len(many)}"
    for obj in rows[-2:]:
        with django_assert_max_num_queries(QUERY_CEILING):
            page = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert page.status_code == 200, (label, obj.pk)
    if model_admin.has_add_permission(response.wsgi_request):
        with django_assert_max_num_queries(QUERY_CEILING):
            assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_issuing_a_key_shows_the_secret_once(admin_client, alice_project):
    url = reverse("admin:governance_apikey_add")
    response = admin_client.post(url, {"project": alice_project.pk, "name": "from-admin", "scopes": ["guard:check"]})
    assert response.status_code == 200
    secret = response.context["issued"].secret
    assert secret.encode() in response.content
    api_key = ApiKey.objects.get(name="from-admin")
    assert api_key.scopes == ["guard:check"]
    # The change page of the issued key never shows the secret again.
    page = admin_client.get(reverse("admin:governance_apikey_change", args=[api_key.pk]))
    assert secret.encode() not in page.content


def test_issuing_a_key_validates(admin_client, alice_project):
    url = reverse("admin:governance_apikey_add")
    response = admin_client.post(url, {"project": alice_project.pk, "name": "x", "scopes": ["no:such"]})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not ApiKey.objects.filter(name="x").exists()


def test_admin_front_page_shows_what_needs_attention(admin_client, alice_project):
    from governance.choices import AlertKind, AlertSeverity
    from governance.services.alerts import alert_raise
    from governance.services.envelopes import envelope_append

    envelope_append(project=alice_project, decision_type="external", outcome="flagged")
    alert_raise(kind=AlertKind.OTHER, subject="x", message="m", severity=AlertSeverity.CRITICAL)
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    overview = response.context["overview"]
    assert (overview.open_reviews, overview.open_alerts, overview.critical_alerts) == (1, 1, 1)
    assert b"Needs attention" in response.content
