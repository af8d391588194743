"""Who may decide a review (issue 8, item 12): people, or keys with ``reviews:write`` — and, unless
the project allows self-review, not the key or user that recorded the decision."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from governance.errors import ArbiterError
from governance.services.reviews import review_append

pytestmark = pytest.mark.django_db

URL = "/api/v1/envelopes"
FLAGGED = {"decision_type": "external", "outcome": "flagged", "input": "refund 1234", "output": "approved"}


def _flag(persona) -> str:
    response = persona.client().post(URL, FLAGGED, format="json")
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def _review(persona, envelope_id: str, action: str = "approve"):
    return persona.client().post(f"{URL}/{envelope_id}/reviews", {"action": action, "note": "checked"}, format="json")


def test_the_key_that_recorded_a_decision_cannot_approve_it(alice):
    envelope_id = _flag(alice)
    for action in ("approve", "reject"):
        response = _review(alice, envelope_id, action)
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "self_review"
    # Handing it on is not deciding it.
    assert _review(alice, envelope_id, "escalate").status_code == 201


def test_another_reviewer_key_of_the_project_can_decide(alice, make_key):
    envelope_id = _flag(alice)
    reviewer = make_key(scopes=["reviews:write", "envelopes:read"])
    response = _review(reviewer, envelope_id)
    assert response.status_code == 201, response.content
    assert response.json()["reviewer"].startswith("api-key:")


def test_a_project_can_allow_self_review(alice):
    alice.project.allow_self_review = True
    alice.project.save()
    assert _review(alice, _flag(alice)).status_code == 201


def test_a_key_without_the_review_scope_cannot_review_even_through_the_service(alice, bob, make_key):
    envelope_id = _flag(alice)
    assert _review(bob, envelope_id).status_code == 403  # the API's scope check
    writer = make_key(scopes=["envelopes:write", "envelopes:read"])
    from governance.models import DecisionEnvelope

    envelope = DecisionEnvelope.objects.get(pk=envelope_id)
    with pytest.raises(ArbiterError) as raised:
        review_append(envelope=envelope, action="approve", note="ok", api_key=writer.issued.api_key)
    assert raised.value.code == "missing_scope"


def test_the_user_named_in_the_actor_cannot_decide_it(alice_project):
    from governance.services.envelopes import envelope_append

    olivia = User.objects.create_user("olivia", is_staff=True)
    envelope = envelope_append(
        project=alice_project, decision_type="external", outcome="flagged", actor={"user": "olivia"}
    )
    with pytest.raises(ArbiterError) as raised:
        review_append(envelope=envelope, action="override", note="fix", reviewer=olivia, corrected_output="x")
    assert raised.value.code == "self_review"
    other = User.objects.create_user("oscar", is_staff=True)
    assert review_append(envelope=envelope, action="approve", note="ok", reviewer=other).state_after == "approved"
