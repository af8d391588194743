"""Smoke tests over every registered ModelAdmin, and the API-key issuing flow."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from governance.models import ApiKey

pytestmark = pytest.mark.django_db

MODEL_ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize(("model", "model_admin"), MODEL_ADMINS, ids=[m._meta.label for m, _ in MODEL_ADMINS])
def test_changelist_and_add_pages_render(admin_client, model, model_admin):
    opts = model._meta
    response = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    if model_admin.has_add_permission(_request_for(admin_client)):
        response = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert response.status_code == 200


def _request_for(admin_client):
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="admin")
    return request


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
