"""Operator reviews of flagged decisions: appended, never edited.

An envelope's review state is derived from its ``Review`` rows: the ``state_after`` of the
latest one, or ``pending`` while there is none. ``ReviewItem.state`` is that derivation kept
up to date in the same transaction, so the queue can filter on it. A decision (approve,
reject, override) is published on the transactional ``review_decided`` hook in that same
transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from governance import hooks
from governance.choices import Scope
from governance.errors import ArbiterError, ConflictError, NotFoundError
from governance.hooks import REVIEW_DECIDED, ReviewDecided
from governance.models import ApiKey, DecisionEnvelope, Review, ReviewItem
from governance.models.provenance import DecisionType, Outcome, ReviewAction, ReviewState
from governance.services.envelopes import envelope_append

_STATE_AFTER = {
    ReviewAction.APPROVE: ReviewState.APPROVED,
    ReviewAction.REJECT: ReviewState.REJECTED,
    ReviewAction.OVERRIDE: ReviewState.OVERRIDDEN,
    ReviewAction.ESCALATE: ReviewState.ESCALATED,
    ReviewAction.ASSIGN: ReviewState.ASSIGNED,
}


def review_state_derive(reviews: list[Review]) -> str:
    """The review state that a list of an envelope's reviews (oldest first) amounts to."""
    return reviews[-1].state_after if reviews else ReviewState.PENDING


# Actions that decide a review (and close it); escalating or assigning hands it on instead.
_DECISIONS = frozenset({ReviewAction.APPROVE, ReviewAction.REJECT, ReviewAction.OVERRIDE})


def _check_reviewer(
    *, envelope: DecisionEnvelope, action: str, reviewer: AbstractBaseUser | None, api_key: ApiKey | None
) -> None:
    """Reviews come from people or from keys with ``reviews:write``; unless the project allows
    self-review, whoever recorded the decision (its API key, or the user named in its actor) may
    not decide its review. Raises ``missing_scope`` and ``self_review`` (403)."""
    if reviewer is None and api_key is not None and Scope.REVIEWS_WRITE not in api_key.scopes:
        message = f"This API key lacks the scope {Scope.REVIEWS_WRITE.value} needed to review."
        raise ArbiterError("missing_scope", message, status_code=403)
    if action not in _DECISIONS or envelope.project.allow_self_review:
        return
    actor = envelope.actor if isinstance(envelope.actor, dict) else {}
    same_key = api_key is not None and reviewer is None and actor.get("api_key_id") == api_key.pk
    same_user = reviewer is not None and actor.get("user") == reviewer.get_username()
    if same_key or same_user:
        who = "API key" if same_key else "user"
        raise ArbiterError(
            "self_review",
            f"The {who} that recorded this decision cannot decide its review (the project does not allow "
            "self-review); escalate or assign it instead.",
            status_code=403,
        )


@transaction.atomic
def review_append(
    *,
    envelope: DecisionEnvelope,
    action: str,
    note: str,
    reviewer: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    assignee: AbstractBaseUser | None = None,
    corrected_output: Any = None,
) -> Review:
    """Record one review action on an envelope in the review queue.

    ``override`` needs ``corrected_output`` and appends a correction envelope (type
    ``review_override``, parent = the original) carrying it; ``assign`` needs ``assignee``.
    A decided item (approved, rejected, overridden) takes no more actions. A decision is
    published on ``review_decided`` before the transaction commits: a subscriber that raises
    rolls the review (and its correction envelope) back, and the error reaches the caller.
    Raises ``ArbiterError``: ``note_required``, ``invalid_review`` (400), ``missing_scope``,
    ``self_review`` (403), ``not_in_review`` (404), ``review_closed`` (409).
    """
    if action not in ReviewAction.values:
        raise ArbiterError("invalid_review", f"action must be one of {', '.join(ReviewAction.values)}.")
    note = (note or "").strip()
    if not note:
        raise ArbiterError("note_required", "A review needs a note saying why.")
    if reviewer is None and api_key is None:
        raise ArbiterError("invalid_review", "A review needs a reviewer (a user or an API key).")
    if action == ReviewAction.ASSIGN and assignee is None:
        raise ArbiterError("invalid_review", "Assigning needs an assignee.")
    if action == ReviewAction.OVERRIDE and corrected_output is None:
        raise ArbiterError("invalid_review", "Overriding needs the corrected output.")
    _check_reviewer(envelope=envelope, action=action, reviewer=reviewer, api_key=api_key)
    # The item row is the lock: two operators acting at once are applied one after the other.
    item = ReviewItem.objects.select_for_update().filter(envelope=envelope).first()
    if item is None:
        raise NotFoundError("This envelope is not in the review queue.", code="not_in_review")
    if not item.is_open:
        raise ConflictError("review_closed", f"This review is already decided ({item.state}).")
    if reviewer is not None:
        label = reviewer.get_username()
    else:
        assert api_key is not None  # checked above: a review has a reviewer or a key
        label = f"api-key:{api_key.prefix}"
    correction = None
    if action == ReviewAction.OVERRIDE:
        correction = envelope_append(
            project=envelope.project,
            decision_type=DecisionType.REVIEW_OVERRIDE,
            outcome=Outcome.ALLOWED,
            trace_id=envelope.trace_id,
            span_id=envelope.span_id,
            parent=envelope,
            actor={"user": label} if reviewer is not None else {"api_key_id": api_key.pk if api_key else None},
            output=corrected_output,
            versions=envelope.versions,
            rationale=note,
            attributes={"corrects": str(envelope.id)},
        )
    state_after = _STATE_AFTER[ReviewAction(action)]
    now = timezone.now()
    review = Review.objects.create(
        envelope=envelope,
        item=item,
        action=action,
        note=note,
        # By id: the admin hands over ``request.user`` typed as the abstract user.
        reviewer_id=reviewer.pk if reviewer is not None else None,
        reviewer_api_key=api_key,
        reviewer_label=label,
        assignee_id=assignee.pk if assignee is not None else None,
        correction=correction,
        state_after=state_after,
        created_at=now,
    )
    item.state = state_after
    if assignee is not None:
        item.assignee_id = assignee.pk
    item.updated_at = now
    item.save(update_fields=["state", "assignee", "updated_at"])
    if not item.is_open:
        hooks.publish(
            REVIEW_DECIDED,
            ReviewDecided(
                review_id=review.pk,
                item_id=item.pk,
                envelope_id=str(envelope.pk),
                project_id=envelope.project_id,
                trace_id=envelope.trace_id,
                action=str(action),
                state_after=str(state_after),
                reviewer=label,
                reviewer_user_id=reviewer.pk if reviewer is not None else None,
                reviewer_api_key_id=api_key.pk if api_key is not None else None,
                note=note,
                correction_envelope_id=str(correction.pk) if correction is not None else None,
                corrected_output=corrected_output,
                decided_at=now,
            ),
        )
    return review
