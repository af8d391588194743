"""The operators' review queue in the admin, the review API, and the operator roles."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from governance.models import AppendOnlyError, DecisionEnvelope, Review, ReviewItem
from governance.services.reviews import review_state_derive
from governance.services.spans import span_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(make_staff, raw_project):
    return make_staff("operator", raw_project)


@pytest.fixture
def auditor(make_staff, raw_project):
    return make_staff("auditor", raw_project)


@pytest.fixture
def flagged(make_envelope, raw_project) -> DecisionEnvelope:
    from django.utils import timezone

    trace = "e" * 32
    make_envelope(trace_id=trace, decision_type="guard_check", outcome="allowed")
    envelope: DecisionEnvelope = make_envelope(
        trace_id=trace, outcome="flagged", risk="high", input="refund 1234", output="approved", confidence=0.4
    )
    now = timezone.now()
    span_record(
        project=raw_project,
        name="chat gpt-4o-mini",
        start_time=now,
        end_time=now,
        trace_id=trace,
        attributes={"gen_ai.request.model": "gpt-4o-mini"},
    )
    return envelope


def test_queue_lists_open_items_with_filters(operator, flagged, django_assert_max_num_queries):
    url = reverse("admin:governance_reviewitem_changelist")
    with django_assert_max_num_queries(15):
        response = operator.get(url)
    assert response.status_code == 200
    assert b"flagged #2" in response.content
    for params in ({"risk": "high"}, {"age": "1h"}, {"queue": "decided"}, {"decision_type": "external"}):
        assert operator.get(url, params).status_code == 200
    assert b"flagged #2" not in operator.get(url, {"queue": "decided"}).content


def test_review_page_shows_envelope_trace_and_neighbours(operator, flagged):
    item = ReviewItem.objects.get(envelope=flagged)
    response = operator.get(reverse("admin:governance_reviewitem_change", args=[item.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "refund 1234" in page  # input
    assert "chat gpt-4o-mini" in page  # a span in the trace
    assert "Guard check" in page  # the neighbouring step
    assert 'id="review-form"' in page


def test_operator_review_flow_is_recorded_and_append_only(operator, flagged):
    item = ReviewItem.objects.get(envelope=flagged)
    url = reverse("admin:governance_reviewitem_change", args=[item.pk])

    # A note is required.
    response = operator.post(url, {"action": "approve", "note": " "})
    assert response.status_code == 200
    assert response.context["form"].errors["note"]
    assert not Review.objects.exists()

    assert (
        operator.post(url, {"action": "assign", "note": "taking it", "assignee": operator.user.pk}).status_code == 302
    )
    assert operator.post(url, {"action": "escalate", "note": "amount is large"}).status_code == 302
    response = operator.post(
        url, {"action": "override", "note": "should be partial", "corrected_output": '"refund 50%"'}
    )
    assert response.status_code == 302

    reviews = list(Review.objects.filter(envelope=flagged).order_by("created_at", "id"))
    assert [r.action for r in reviews] == ["assign", "escalate", "override"]
    assert [r.reviewer_label for r in reviews] == [operator.user.username] * 3
    item.refresh_from_db()
    assert item.state == review_state_derive(reviews) == "overridden"
    assert item.assignee is not None
    assert item.assignee == operator.user
    # The correction is a new envelope that references the original; the original is untouched.
    correction = reviews[-1].correction
    assert correction is not None
    assert (correction.parent_id, correction.decision_type, correction.output) == (
        flagged.id,
        "review_override",
        "refund 50%",
    )
    assert DecisionEnvelope.objects.get(pk=flagged.pk).content_hash == flagged.content_hash
    # Decided: no more actions.
    response = operator.post(url, {"action": "approve", "note": "late"})
    assert response.status_code == 200
    assert Review.objects.filter(envelope=flagged).count() == 3
    with pytest.raises(AppendOnlyError):
        Review.objects.filter(envelope=flagged).update(note="rewritten")
    # The history is on the page.
    page = operator.get(url).content.decode()
    assert "should be partial" in page
    assert "Overridden" in page


def test_auditor_reads_everything_and_changes_nothing(auditor, flagged):
    item = ReviewItem.objects.get(envelope=flagged)
    review_url = reverse("admin:governance_reviewitem_change", args=[item.pk])
    page = auditor.get(review_url)
    assert page.status_code == 200
    assert 'id="review-form"' not in page.content.decode()
    assert auditor.post(review_url, {"action": "approve", "note": "I approve"}).status_code == 403
    assert not Review.objects.exists()

    # Every other page, for every role: tests/governance/test_admin_scoping.py.
    envelope_url = reverse("admin:governance_decisionenvelope_change", args=[flagged.pk])
    assert auditor.get(envelope_url).status_code == 200
    assert auditor.post(envelope_url, {"outcome": "allowed"}).status_code == 403
    delete_url = reverse("admin:governance_decisionenvelope_delete", args=[flagged.pk])
    assert auditor.post(delete_url, {"post": "yes"}).status_code == 403
    assert DecisionEnvelope.objects.filter(pk=flagged.pk).exists()


def test_envelopes_are_read_only_even_for_a_superuser(flagged, make_staff):
    admin_client = make_staff(superuser=True)
    url = reverse("admin:governance_decisionenvelope_change", args=[flagged.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"outcome": "allowed"}).status_code == 403
    assert admin_client.post(reverse("admin:governance_decisionenvelope_delete", args=[flagged.pk])).status_code == 403


# --- the same flow through the API ------------------------------------------------------------------


def test_review_api_with_the_three_personas(alice, bob, charlie, flagged):
    url = f"/api/v1/envelopes/{flagged.id}/reviews"
    assert bob.client().post(url, {"action": "approve", "note": "ok"}, format="json").status_code == 403
    assert charlie.client().post(url, {"action": "approve", "note": "ok"}, format="json").status_code == 404
    missing_note = alice.client().post(url, {"action": "approve"}, format="json")
    assert missing_note.status_code == 400
    response = alice.client().post(url, {"action": "approve", "note": "checked the order"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["reviewer"] == f"api-key:{alice.issued.api_key.prefix}"
    assert response.json()["state_after"] == "approved"
    assert bob.client().get(f"/api/v1/envelopes/{flagged.id}").json()["review_state"] == "approved"
    again = alice.client().post(url, {"action": "reject", "note": "changed my mind"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "review_closed"


def test_review_api_refuses_envelopes_not_in_the_queue(alice, make_envelope):
    envelope = make_envelope()
    url = f"/api/v1/envelopes/{envelope.id}/reviews"
    response = alice.client().post(url, {"action": "approve", "note": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_in_review"


def test_review_api_assign_needs_an_operator_of_the_project(alice, flagged, charlie_project):
    from governance.services.memberships import membership_grant

    url = f"/api/v1/envelopes/{flagged.id}/reviews"
    body = {"action": "assign", "note": "yours", "assignee": "nobody"}
    assert alice.client().post(url, body, format="json").json()["code"] == "unknown_assignee"
    olivia = User.objects.create_user("olivia", is_staff=True)
    membership_grant(user=olivia, project=charlie_project, role="operator")  # another project's operator
    assert alice.client().post(url, {**body, "assignee": "olivia"}, format="json").status_code == 404
    membership_grant(user=olivia, project=flagged.project, role="operator")
    response = alice.client().post(url, {**body, "assignee": "olivia"}, format="json")
    assert response.status_code == 201
    assert response.json()["assignee"] == "olivia"


def test_the_data_migration_turns_role_groups_into_memberships_in_every_project(alice_project, charlie_project):
    from importlib import import_module

    from django.apps import apps as django_apps

    from governance.models import ProjectMembership

    migration = import_module("governance.migrations.0007_groups_to_project_memberships")
    olivia = User.objects.create_user("olivia", is_staff=True)
    audrey = User.objects.create_user("audrey", is_staff=True)
    Group.objects.create(name="operators").user_set.add(olivia)
    Group.objects.create(name="auditors").user_set.add(audrey)
    Group.objects.create(name="policy editors")
    migration.groups_to_memberships(django_apps, None)
    migration.groups_to_memberships(django_apps, None)  # idempotent
    assert sorted(ProjectMembership.objects.values_list("user__username", "project__slug", "role")) == [
        ("audrey", "alice", "auditor"),
        ("audrey", "charlie", "auditor"),
        ("olivia", "alice", "operator"),
        ("olivia", "charlie", "operator"),
    ]
    assert not Group.objects.filter(name__in=migration.GROUP_ROLES).exists()
    migration.memberships_to_groups(django_apps, None)
    assert list(Group.objects.get(name="operators").user_set.all()) == [olivia]
