"""The transactional ``review_decided`` hook: published with the Review row, or neither commits."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from governance import hooks
from governance.hooks import ReviewDecided
from governance.models import DecisionEnvelope, Review, ReviewItem
from governance.services.reviews import review_append

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(make_envelope) -> DecisionEnvelope:
    envelope: DecisionEnvelope = make_envelope(trace_id="a" * 32, outcome="flagged", input="refund 1234")
    return envelope


@pytest.fixture
def olivia() -> User:
    return User.objects.create_user("olivia", is_staff=True)


def test_a_decision_is_published_with_what_a_waiting_step_needs(flagged, olivia):
    with hooks.capture(hooks.REVIEW_DECIDED) as seen:
        review_append(envelope=flagged, action="escalate", note="not sure", reviewer=olivia)
        assert seen == []  # escalating decides nothing
        review = review_append(
            envelope=flagged, action="override", note="refund is fine", reviewer=olivia, corrected_output={"ok": 1}
        )
    (event,) = seen
    assert isinstance(event, ReviewDecided)
    assert (event.review_id, event.envelope_id, event.project_id) == (review.pk, str(flagged.pk), flagged.project_id)
    assert (event.action, event.state_after, event.reviewer, event.reviewer_user_id) == (
        "override",
        "overridden",
        "olivia",
        olivia.pk,
    )
    assert event.trace_id == "a" * 32
    assert event.corrected_output == {"ok": 1}
    assert event.correction_envelope_id == str(review.correction_id)


def test_a_subscriber_that_raises_rolls_the_review_back(flagged, olivia):
    def step_cannot_resume(event: ReviewDecided) -> None:
        raise RuntimeError("the waiting step is gone")

    envelopes_before = DecisionEnvelope.objects.count()
    with hooks.isolated(hooks.REVIEW_DECIDED):
        hooks.subscribe(hooks.REVIEW_DECIDED, step_cannot_resume)
        with pytest.raises(RuntimeError, match="step is gone"):
            review_append(envelope=flagged, action="override", note="n", reviewer=olivia, corrected_output="x")
    assert not Review.objects.filter(envelope=flagged).exists()
    assert ReviewItem.objects.get(envelope=flagged).state == "pending"
    assert DecisionEnvelope.objects.count() == envelopes_before  # the correction envelope too

    # With the subscriber gone the same decision commits.
    review_append(envelope=flagged, action="approve", note="ok", reviewer=olivia)
    assert ReviewItem.objects.get(envelope=flagged).state == "approved"
