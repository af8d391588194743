"""Granting and revoking staff users' roles in projects (what the admin lets them see and do)."""

from __future__ import annotations

import structlog
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from governance.choices import ProjectRole
from governance.errors import ArbiterError
from governance.models import Project, ProjectMembership

log = structlog.get_logger(__name__)


@transaction.atomic
def membership_grant(
    *, user: AbstractBaseUser, project: Project, role: ProjectRole | str, granted_by: AbstractBaseUser | None = None
) -> ProjectMembership:
    """Give ``user`` ``role`` in ``project`` (idempotent). Only staff users can use the admin at all."""
    if role not in ProjectRole.values:
        raise ArbiterError("unknown_role", f"Unknown role {role!r}. Known: {', '.join(ProjectRole.values)}.")
    membership, created = ProjectMembership.objects.get_or_create(user_id=user.pk, project=project, role=role)
    if created:
        log.info(
            "membership.granted",
            user=user.get_username(),
            project=project.slug,
            role=str(role),
            by=granted_by.get_username() if granted_by else None,
        )
    return membership


@transaction.atomic
def membership_revoke(*, membership: ProjectMembership, revoked_by: AbstractBaseUser | None = None) -> None:
    log.info(
        "membership.revoked",
        user=membership.user.get_username(),
        project=membership.project.slug,
        role=membership.role,
        by=revoked_by.get_username() if revoked_by else None,
    )
    membership.delete()


@transaction.atomic
def membership_change(
    *, membership: ProjectMembership, project: Project, role: ProjectRole | str, by: AbstractBaseUser | None = None
) -> ProjectMembership:
    """Move a membership to another project or role (what editing its row in the admin means)."""
    if (membership.project_id, membership.role) == (project.pk, role):
        return membership
    user = membership.user
    membership_revoke(membership=membership, revoked_by=by)
    return membership_grant(user=user, project=project, role=role, granted_by=by)
