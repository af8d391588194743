"""The orchestration admin: pages render with rows, prompts gain versions, aliases save with their endpoints."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance.models import ModelEndpoint
from governance.services.demo import demo_seed
from orchestration.models import EndpointQuota, ModelAlias, PromptTemplate, PromptVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    return demo_seed().project


@pytest.mark.parametrize("model", [ModelAlias, EndpointQuota, PromptTemplate, PromptVersion])
def test_changelists_and_change_pages_render_with_rows(admin_client, demo, model, django_assert_max_num_queries):
    opts = model._meta
    with django_assert_max_num_queries(30):
        response = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    row = model.objects.first()
    assert row is not None
    with django_assert_max_num_queries(60):
        response = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
    assert response.status_code == 200


def versions_inline(template: PromptTemplate) -> dict[str, str]:
    """What the browser posts for the read-only versions inline."""
    rows = list(template.versions.order_by("-version"))
    data = {"versions-TOTAL_FORMS": str(len(rows)), "versions-INITIAL_FORMS": str(len(rows)),
            "versions-MIN_NUM_FORMS": "0", "versions-MAX_NUM_FORMS": "1000"}  # fmt: skip
    for i, row in enumerate(rows):
        data[f"versions-{i}-id"] = str(row.pk)
        data[f"versions-{i}-template"] = str(template.pk)
    return data


def test_editing_a_prompt_adds_a_version_and_a_rollback_picks_an_older_one(admin_client, demo):
    template = PromptTemplate.objects.get(project=demo, name="support-answer")
    url = reverse("admin:orchestration_prompttemplate_change", args=[template.pk])
    form = {
        "description": template.description,
        "current_version": "1",
        "messages": '[{"role": "user", "template": "Answer {{ question }} for {{ company }}."}]',
        "note": "shorter",
        "make_current": "on",
    }
    response = admin_client.post(url, {**form, **versions_inline(template)})
    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.current_version == 2
    assert PromptVersion.objects.get(template=template, version=2).variables == ["company", "question"]
    # Roll back: choose version 1 again without changing the text (no new version is added).
    response = admin_client.post(url, {**form, "current_version": "1", "make_current": "", **versions_inline(template)})
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.current_version == 1
    assert template.versions.count() == 2


def test_an_invalid_template_is_refused_with_its_error(admin_client, demo):
    template = PromptTemplate.objects.get(project=demo, name="support-answer")
    url = reverse("admin:orchestration_prompttemplate_change", args=[template.pk])
    macro = '[{"role": "user", "template": "{% macro x() %}{% endmacro %}"}]'
    response = admin_client.post(url, {"current_version": "1", "messages": macro, **versions_inline(template)})
    assert response.status_code == 200
    assert "macros are not allowed" in response.content.decode()
    assert template.versions.count() == 1


def test_an_alias_saves_with_its_endpoints(admin_client, demo):
    model = ModelEndpoint.objects.get(provider__name="offline", name="sim-large")
    response = admin_client.post(
        reverse("admin:orchestration_modelalias_add"),
        {
            "project": demo.pk, "name": "batch", "description": "", "max_tokens": "256",
            "connect_timeout_s": "", "read_timeout_s": "", "enabled": "on",
            "endpoints-TOTAL_FORMS": "1", "endpoints-INITIAL_FORMS": "0",
            "endpoints-MIN_NUM_FORMS": "0", "endpoints-MAX_NUM_FORMS": "1000",
            "endpoints-0-model": model.pk, "endpoints-0-priority": "1", "endpoints-0-weight": "2",
            "endpoints-0-enabled": "on",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    alias = ModelAlias.objects.get(project=demo, name="batch")
    assert [(e.model.name, e.weight) for e in alias.endpoints.all()] == [("sim-large", 2)]
    assert alias.history.count() == 1
