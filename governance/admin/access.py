"""Who may do what: staff users' project memberships, on their own page, the user's page and the project's.

Only superusers grant roles. Saves go through ``governance.services.memberships`` (logged).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from governance.admin.scoping import SuperuserOnlyAdmin
from governance.models import Project, ProjectMembership
from governance.services.memberships import membership_change, membership_grant, membership_revoke


def _acting_user(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _save_membership(request: HttpRequest, membership: ProjectMembership) -> ProjectMembership:
    """Create or move one membership through the services (what a form or inline row asks for)."""
    by = _acting_user(request)
    if membership.pk is None:
        return membership_grant(user=membership.user, project=membership.project, role=membership.role, granted_by=by)
    stored = ProjectMembership.objects.select_related("user", "project").get(pk=membership.pk)
    return membership_change(membership=stored, project=membership.project, role=membership.role, by=by)


class MembershipFormSetSaving:
    """Inline memberships saved through the services, on both the user's and the project's page."""

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseInlineFormSet[Any, Any, Any], change: bool
    ) -> None:
        if formset.model is not ProjectMembership:
            super().save_formset(request, form, formset, change)  # type: ignore[misc]
            return
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            membership_revoke(membership=cast(ProjectMembership, obj), revoked_by=_acting_user(request))
        for membership in instances:
            _save_membership(request, membership)


class UserMembershipInline(admin.TabularInline[ProjectMembership, User]):
    model = ProjectMembership
    fk_name = "user"
    extra = 0
    fields = ["project", "role", "created_at"]
    readonly_fields = ["created_at"]
    verbose_name_plural = (
        "Project roles (operator: reviews and alerts; policy editor: configuration; auditor: read-only)"
    )


class ProjectMembershipInline(admin.TabularInline[ProjectMembership, Project]):
    model = ProjectMembership
    fk_name = "project"
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    verbose_name_plural = "Members and their roles"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(is_staff=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


admin.site.unregister(User)


@admin.register(User)
class ArbiterUserAdmin(MembershipFormSetSaving, UserAdmin[User]):
    """Django's user page, plus the user's roles per project."""

    inlines = [*UserAdmin.inlines, UserMembershipInline]
    list_display = ["username", "email", "is_staff", "is_superuser", "is_active", "projects", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "project_memberships__role"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("project_memberships__project")

    @admin.display(description="project roles")
    def projects(self, obj: User) -> str:
        roles = [f"{m.project.slug}: {m.get_role_display().split(' (')[0]}" for m in obj.project_memberships.all()]
        return "; ".join(roles) or ("all (superuser)" if obj.is_superuser else "none")


@admin.register(ProjectMembership)
class ProjectMembershipAdmin(SuperuserOnlyAdmin[ProjectMembership]):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__slug"]
    list_select_related = ["user", "project"]
    readonly_fields = ["created_at"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(is_staff=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ProjectMembership, form: Any, change: bool) -> None:
        saved = _save_membership(request, obj)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: ProjectMembership) -> None:
        membership_revoke(membership=obj, revoked_by=_acting_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ProjectMembership]) -> None:
        for membership in queryset.select_related("user", "project"):
            self.delete_model(request, membership)
