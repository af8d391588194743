"""The classifier's admin pages: import, train, read a version, promote it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guardrails.classifier.shipped import default_shipped
from guardrails.models import ClassifierPromotion, ClassifierVersion, GuardExample, GuardPolicy, TrainingStatus

pytestmark = pytest.mark.django_db


def test_importing_a_file_from_the_admin(admin_client, alice_project, fixture_jsonl):
    url = reverse("admin:guardrails_guardexample_import")
    assert admin_client.get(url).status_code == 200
    upload = SimpleUploadedFile("examples.jsonl", fixture_jsonl)
    response = admin_client.post(url, {"project": alice_project.pk, "file": upload, "source": ""})
    assert response.status_code == 302
    assert GuardExample.objects.filter(project=alice_project).count() == 40


def test_a_bad_file_is_refused_with_the_line_and_nothing_is_stored(admin_client, alice_project):
    upload = SimpleUploadedFile("examples.csv", b"text,label\nfine,benign\nodd,sometimes\n")
    response = admin_client.post(
        reverse("admin:guardrails_guardexample_import"), {"project": alice_project.pk, "file": upload}
    )
    assert response.status_code == 200
    assert b"line 3" in response.content
    assert not GuardExample.objects.exists()


def test_train_read_and_promote_from_the_admin(
    admin_client, alice_project, fixture_jsonl, django_capture_on_commit_callbacks
):
    admin_client.post(
        reverse("admin:guardrails_guardexample_import"),
        {"project": alice_project.pk, "file": SimpleUploadedFile("e.jsonl", fixture_jsonl)},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:guardrails_classifierversion_train"),
            {"project": alice_project.pk, "name": "prompt-injection", "target_fpr": "0.02"},
        )
    version = ClassifierVersion.objects.get(project=alice_project)
    assert response.status_code == 302
    assert version.status == TrainingStatus.READY
    assert version.include_starter is False  # the unchecked box

    page = admin_client.get(reverse("admin:guardrails_classifierversion_change", args=[version.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'class="pr-curve"' in content
    assert "Held-out quality" in content
    assert "fixture/persona" in content  # per-source table

    policy = GuardPolicy.objects.get(project=alice_project, slug="default")
    promote = reverse("admin:guardrails_classifierversion_promote")
    assert admin_client.get(promote).status_code == 405  # POST only
    response = admin_client.post(
        promote, {"candidate": f"version:{version.pk}", "policy": policy.pk, "target_fpr": "0.01", "note": ""}
    )
    assert response.status_code == 302
    promotion = ClassifierPromotion.objects.get(policy=policy)
    assert promotion.model_label == version.label
    assert promotion.previous_label == default_shipped().label
    assert admin_client.get(reverse("admin:guardrails_classifierpromotion_changelist")).status_code == 200


def test_a_version_cannot_be_promoted_to_another_projects_policy(
    admin_client, alice_project, charlie_project, fixture_jsonl, django_capture_on_commit_callbacks
):
    from guardrails.services import classifier as cs

    cs.example_import(project=alice_project, filename="e.jsonl", content=fixture_jsonl)
    with django_capture_on_commit_callbacks(execute=True):
        version = cs.version_request(project=alice_project, include_starter=False)
    foreign = GuardPolicy.objects.get(project=charlie_project, slug="default")
    response = admin_client.post(
        reverse("admin:guardrails_classifierversion_promote"),
        {"candidate": f"version:{version.pk}", "policy": foreign.pk, "target_fpr": "0.01"},
    )
    assert response.status_code == 302
    assert not ClassifierPromotion.objects.exists()


def test_the_shipped_version_has_a_page_with_its_curve(admin_client, alice_project):
    shipped = default_shipped()
    listing = admin_client.get(reverse("admin:guardrails_classifierversion_changelist"))
    assert shipped.label.encode() in listing.content
    page = admin_client.get(reverse("admin:guardrails_classifierversion_shipped", args=[shipped.sha256]))
    assert page.status_code == 200
    assert b'class="pr-curve"' in page.content
    assert admin_client.get(reverse("admin:guardrails_classifierversion_shipped", args=["0" * 64])).status_code == 404
