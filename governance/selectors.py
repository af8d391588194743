"""Reads of the core: envelopes, traces, review history (scoped to one project), and the admin's overview."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from governance.choices import AlertSeverity, ProjectRole
from governance.errors import NotFoundError
from governance.llm import get_client
from governance.models import Alert, DecisionEnvelope, Project, ProjectMembership, Review, ReviewItem, Span
from governance.models.provenance import OPEN_REVIEW_STATES, ReviewState


def envelope_list(
    *,
    project: Project,
    trace_id: str | None = None,
    decision_type: str | None = None,
    outcome: str | None = None,
    review_state: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[DecisionEnvelope]:
    """Envelopes of ``project``, newest first, filtered by whatever is given."""
    qs = DecisionEnvelope.objects.filter(project=project).select_related("project", "review_item")
    if trace_id:
        qs = qs.filter(trace_id=trace_id)
    if decision_type:
        qs = qs.filter(decision_type=decision_type)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if review_state == ReviewState.NONE:
        qs = qs.filter(review_item__isnull=True)
    elif review_state:
        qs = qs.filter(review_item__state=review_state)
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    return qs.order_by("-seq")


def envelope_get(*, project: Project, envelope_id: uuid.UUID | str) -> DecisionEnvelope:
    """One envelope of ``project``; ``NotFoundError`` for another project's (no existence leak)."""
    try:
        envelope: DecisionEnvelope = DecisionEnvelope.objects.select_related("project", "review_item").get(
            project=project, pk=envelope_id
        )
    except (DecisionEnvelope.DoesNotExist, ValueError) as exc:
        raise NotFoundError("No such envelope.") from exc
    return envelope


def review_list(*, envelope: DecisionEnvelope) -> list[Review]:
    return list(envelope.reviews.select_related("reviewer", "assignee", "correction").order_by("created_at", "id"))


@dataclass
class SpanNode:
    span: Span
    children: list[SpanNode] = field(default_factory=list)


@dataclass
class Trace:
    trace_id: str
    roots: list[SpanNode]
    span_count: int
    envelopes: list[DecisionEnvelope]


def span_tree(spans: list[Span]) -> list[SpanNode]:
    """Spans as a forest: a span whose parent is not in the list is a root. Siblings by start time."""
    nodes = {s.span_id: SpanNode(s) for s in sorted(spans, key=lambda s: (s.start_time, s.span_id))}
    roots: list[SpanNode] = []
    for node in nodes.values():
        parent = nodes.get(node.span.parent_span_id) if node.span.parent_span_id else None
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots


def trace_get(*, project: Project, trace_id: str) -> Trace:
    """The whole lineage of a trace in ``project``: spans as a tree plus its envelopes."""
    spans = list(Span.objects.filter(project=project, trace_id=trace_id))
    envelopes = list(
        DecisionEnvelope.objects.filter(project=project, trace_id=trace_id)
        .select_related("project", "review_item")
        .order_by("seq")
    )
    if not spans and not envelopes:
        raise NotFoundError("No such trace in this project.")
    return Trace(trace_id=trace_id, roots=span_tree(spans), span_count=len(spans), envelopes=envelopes)


def membership_roles(*, user_id: int) -> dict[int, set[str]]:
    """The roles a staff user holds, by project id (one query)."""
    roles: dict[int, set[str]] = {}
    for project_id, role in ProjectMembership.objects.filter(user_id=user_id).values_list("project_id", "role"):
        roles.setdefault(project_id, set()).add(role)
    return roles


def project_members(*, project_ids: Collection[int], roles: Collection[str] | None = None) -> QuerySet[User]:
    """Active staff users with a role (any, or one of ``roles``) in one of the projects."""
    memberships = ProjectMembership.objects.filter(project_id__in=project_ids)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return User.objects.filter(is_active=True, is_staff=True, pk__in=memberships.values("user_id")).order_by("username")


def reviewer_candidates(*, project: Project) -> QuerySet[User]:
    """Who a review in ``project`` can be assigned to: its operators and the superusers."""
    operators = ProjectMembership.objects.filter(project=project, role=ProjectRole.OPERATOR).values("user_id")
    return User.objects.filter(Q(is_superuser=True) | Q(pk__in=operators), is_active=True, is_staff=True).order_by(
        "username"
    )


def reviewer_get(*, username: str, project: Project) -> User:
    """An operator of ``project`` (or a superuser) to assign a review to; ``NotFoundError`` otherwise."""
    user = reviewer_candidates(project=project).filter(username=username).first()
    if user is None:
        raise NotFoundError(f"No active operator {username!r} in project {project.slug!r}.", code="unknown_assignee")
    return user


@dataclass(frozen=True)
class Overview:
    """What needs an operator's attention, for the admin's front page."""

    open_reviews: int
    oldest_open_review: datetime | None
    open_alerts: int
    critical_alerts: int
    open_breakers: list[str]


def overview_get(*, project_ids: Collection[int] | None = None) -> Overview:
    """Counts over ``project_ids`` (``None``: every project) plus the alerts no project owns;
    the breakers come from the shared store."""
    open_items = ReviewItem.objects.filter(state__in=OPEN_REVIEW_STATES)
    alerts = Alert.objects.filter(acknowledged_at__isnull=True)
    if project_ids is not None:
        open_items = open_items.filter(project_id__in=project_ids)
        alerts = alerts.filter(Q(project_id__in=project_ids) | Q(project__isnull=True))
    try:
        breakers = sorted(b.key for b in get_client().breakers.snapshots() if str(b.state) != "closed")
    except Exception:  # the breaker store (Redis) being down must not take the admin with it
        breakers = []
    return Overview(
        open_reviews=open_items.count(),
        oldest_open_review=open_items.order_by("opened_at").values_list("opened_at", flat=True).first(),
        open_alerts=alerts.count(),
        critical_alerts=alerts.filter(severity=AlertSeverity.CRITICAL).count(),
        open_breakers=breakers,
    )
