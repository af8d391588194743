"""Creating projects and telling the other apps about them."""

from __future__ import annotations

from django.db import transaction

from governance import hooks
from governance.hooks import PROJECT_CREATED, ProjectCreated
from governance.models import Project


@transaction.atomic
def project_create(*, slug: str, name: str, **settings: object) -> Project:
    """Create a project. Apps that give new projects defaults (e.g. a guard policy) add them in the
    same transaction, so a project never exists without its day-one protection."""
    project = Project(slug=slug, name=name, **settings)
    project.full_clean()
    project.save()
    hooks.publish(PROJECT_CREATED, ProjectCreated(project_id=project.pk, slug=project.slug))
    return project


def project_get(*, project_id: int) -> Project:
    """The project a hook's payload names (receivers hand it to the services that take a project)."""
    return Project.objects.get(pk=project_id)


def project_update(*, project: Project) -> Project:
    """Save a project's settings (the slug is fixed once created: other services refer to it)."""
    project.full_clean()
    project.save()
    return project


def project_get_or_create(*, slug: str, name: str) -> tuple[Project, bool]:
    existing = Project.objects.filter(slug=slug).first()
    if existing is not None:
        return existing, False
    return project_create(slug=slug, name=name), True
