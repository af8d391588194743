"""The operator roles: Django groups and the permissions each needs.

* **operators** work the review queue: view provenance, review flagged decisions.
* **policy editors** edit guardrail policies and rules (add/change/view in ``guardrails``)
  and read provenance.
* **auditors** read everything and change nothing: every ``view_*`` permission, nothing else.

The groups are created by a data migration; :func:`roles_sync` grants permissions and runs
after every ``migrate``, so models added later (other apps' tables) are covered too.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

OPERATORS = "operators"
POLICY_EDITORS = "policy editors"
AUDITORS = "auditors"
ROLE_NAMES = (OPERATORS, POLICY_EDITORS, AUDITORS)

_PROVENANCE_MODELS = ("decisionenvelope", "span", "review", "reviewitem", "project", "alert")


def _provenance_view() -> Q:
    return Q(content_type__app_label="governance", codename__in=[f"view_{m}" for m in _PROVENANCE_MODELS])


def role_permissions(role: str) -> Q:
    """Which permissions ``role`` holds, as a filter on ``Permission``."""
    if role == AUDITORS:
        return Q(codename__startswith="view_")
    if role == OPERATORS:
        return _provenance_view() | Q(content_type__app_label="governance", codename="review_envelope")
    if role == POLICY_EDITORS:
        editing = Q(content_type__app_label="guardrails") & (
            Q(codename__startswith="add_") | Q(codename__startswith="change_") | Q(codename__startswith="view_")
        )
        return editing | _provenance_view()
    raise ValueError(f"unknown role {role!r}")


def roles_sync() -> None:
    """Give each role group exactly its permissions (idempotent; creates missing groups)."""
    for role in ROLE_NAMES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(Permission.objects.filter(role_permissions(role)))
