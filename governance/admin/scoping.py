"""Project scoping for every admin page: which rows a staff user sees and what they may do there.

Staff users hold roles per project (:class:`~governance.models.ProjectMembership`); a role
grants *capabilities* in that project:

=============  ===========================  ================================================
role           capabilities                 in the admin
=============  ===========================  ================================================
auditor        view                         reads everything, changes nothing
operator       view, operate                review queue, run approvals, resume/cancel runs,
                                            acknowledging alerts
policy editor  view, configure              all configuration: guard policies, prompts, model
                                            aliases, pipelines, eval suites and gates, budgets,
                                            prices, classifier training, API keys
=============  ===========================  ================================================

Superusers have every capability everywhere. Django's model permissions are not consulted
for Arbiter's pages: memberships are the one source, so a role means the same on every page.

An app's admin gets all of it with one line, the path from its model to the project::

    @admin.register(Run)
    class RunAdmin(ProjectScopedAdmin[Run]):
        project_path = "pipeline__project"
        edit_capability = OPERATE     # default CONFIGURE: who may add, change and delete

and then lists, change pages, add, delete, history, foreign-key choices, list filters and
autocomplete only offer the user's projects, and every admin action only touches the selected
rows in projects where the user holds what the action's ``permissions=[...]`` name
(``"view"``, ``"change"``/``"add"``/``"delete"`` mean ``edit_capability``, ``"operate"``,
``"configure"``). A custom view calls :meth:`ProjectScopedAdmin.scoped_object` (404 for another
project's row, 403 without the capability) or :func:`visible_projects`.

Rows that belong to no project (the global price list, breaker alerts, Arbiter's own spans)
and tables without a project (providers) are *shared*: a user who holds a capability listed in
``shared_capabilities`` in any project holds it there too; by default only viewing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from governance.choices import ProjectRole
from governance.models import Project
from governance.selectors import membership_roles, project_members

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

VIEW = "view"
CONFIGURE = "configure"
OPERATE = "operate"
CAPABILITIES = (VIEW, CONFIGURE, OPERATE)

ROLE_CAPABILITIES: Mapping[str, frozenset[str]] = {
    ProjectRole.AUDITOR: frozenset({VIEW}),
    ProjectRole.OPERATOR: frozenset({VIEW, OPERATE}),
    ProjectRole.POLICY_EDITOR: frozenset({VIEW, CONFIGURE}),
}

_ModelT = TypeVar("_ModelT", bound=Model)


@dataclass(frozen=True)
class Access:
    """What one signed-in staff user may do, per project id. Computed once per request."""

    is_superuser: bool = False
    by_project: Mapping[int, frozenset[str]] = field(default_factory=dict)

    def projects(self, *capabilities: str) -> frozenset[int]:
        """Projects where the user holds every one of ``capabilities`` (superusers: use ``None`` checks)."""
        return frozenset(pid for pid, caps in self.by_project.items() if caps.issuperset(capabilities))

    def can(self, capability: str, project_id: int) -> bool:
        return self.is_superuser or capability in self.by_project.get(project_id, frozenset())

    def anywhere(self, capability: str) -> bool:
        return self.is_superuser or any(capability in caps for caps in self.by_project.values())


def access_for(request: HttpRequest) -> Access:
    """The request user's access (cached on the request: one query per page)."""
    cached: Access | None = getattr(request, "_arbiter_access", None)
    if cached is not None:
        return cached
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        access = Access()
    elif user.is_superuser:
        access = Access(is_superuser=True)
    else:
        by_project = {
            pid: frozenset().union(*(ROLE_CAPABILITIES[r] for r in roles if r in ROLE_CAPABILITIES))
            for pid, roles in membership_roles(user_id=user.pk).items()
        }
        access = Access(by_project=by_project)
    request._arbiter_access = access  # type: ignore[attr-defined]
    return access


def visible_projects(request: HttpRequest, *capabilities: str) -> QuerySet[Project]:
    """The projects where the user holds ``capabilities`` (default: view), for a custom page's choices."""
    access = access_for(request)
    projects = Project.objects.order_by("slug")
    if access.is_superuser:
        return projects
    return projects.filter(pk__in=access.projects(*(capabilities or (VIEW,))))


def _walk_project_id(obj: Any, hops: Sequence[str]) -> int | None:
    """Follow ``hops`` (the last one a foreign key to Project, or ``pk`` on a Project) to a project id."""
    target = obj
    for hop in hops[:-1]:
        target = getattr(target, hop, None)
        if target is None:
            return None
    last = hops[-1]
    value = target.pk if last == "pk" else getattr(target, f"{last}_id", None)
    return int(value) if value is not None else None


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A foreign-key filter offering only the related rows the user may see (no other project's names)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[str, _StrPromise | str]]:
        related = field.related_model
        choices = related._default_manager.all()
        if isinstance(model_admin, ProjectScopedAdmin):
            scoped = model_admin.related_choices(request, related, VIEW)
            choices = scoped if scoped is not None else choices
        # The related admin's select_related, so naming each choice costs no query of its own.
        related_admin = model_admin.admin_site._registry.get(related)
        joins = getattr(related_admin, "list_select_related", False)
        if isinstance(joins, list | tuple) and joins:
            choices = choices.select_related(*joins)
        ordering = self.field_admin_ordering(field, request, model_admin) or ()
        return [(str(obj.pk), str(obj)) for obj in choices.order_by(*ordering)]


class ProjectScopedAdmin(admin.ModelAdmin[_ModelT]):
    """A ModelAdmin whose every list, page, form choice and action is limited by project memberships."""

    #: The lookup from this model to its Project: ``"project"``, ``"policy__project"``, ``"pk"`` for
    #: Project itself, ``None`` for a table no project owns (every row shared).
    project_path: ClassVar[str | None] = "project"
    #: What adding, changing and deleting need.
    edit_capability: ClassVar[str] = CONFIGURE
    #: What a capability held in any project lets a user do on shared rows (no project).
    shared_capabilities: ClassVar[frozenset[str]] = frozenset({VIEW})

    # --- what the user may see and do ------------------------------------------------------------

    def project_id_of(self, obj: Any) -> int | None:
        if self.project_path is None:
            return None
        return _walk_project_id(obj, self.project_path.split("__"))

    def _shared_allowed(self, access: Access, capabilities: Iterable[str]) -> bool:
        return all(c in self.shared_capabilities and access.anywhere(c) for c in capabilities)

    @functools.cached_property
    def _path_nullable(self) -> bool:
        if not self.project_path or self.project_path == "pk":
            return False
        return any(getattr(f, "null", False) for f in get_fields_from_path(self.model, self.project_path))

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any], *capabilities: str) -> QuerySet[Any]:
        """``queryset`` limited to rows in projects where the user holds ``capabilities`` (default: view)."""
        access = access_for(request)
        if access.is_superuser:
            return queryset
        capabilities = capabilities or (VIEW,)
        shared = self._shared_allowed(access, capabilities)
        if self.project_path is None:
            return queryset if shared else queryset.none()
        condition = Q(**{f"{self.project_path}__in": access.projects(*capabilities)})
        if shared and self._path_nullable:
            condition |= Q(**{f"{self.project_path}__isnull": True})
        return queryset.filter(condition)

    def has_capability(self, request: HttpRequest, capability: str, obj: Any = None) -> bool:
        """Whether the user holds ``capability`` on ``obj`` (``None``: in at least one project)."""
        access = access_for(request)
        if access.is_superuser:
            return True
        if obj is None:
            if self.project_path is None:
                return self._shared_allowed(access, [capability])
            return access.anywhere(capability)
        project_id = self.project_id_of(obj)
        if project_id is None:
            return self._shared_allowed(access, [capability])
        return access.can(capability, project_id)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_capability(request, VIEW)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_capability(request, VIEW, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_capability(request, self.edit_capability)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_capability(request, self.edit_capability, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_capability(request, self.edit_capability, obj)

    def has_operate_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_capability(request, OPERATE, obj)

    def has_configure_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_capability(request, CONFIGURE, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[_ModelT]:
        return self.scope_queryset(request, super().get_queryset(request), VIEW)

    def scoped_object(self, request: HttpRequest, object_id: Any, capability: str = VIEW) -> _ModelT:
        """One row for a custom view: 404 when the user cannot see it (no existence leak), 403 when
        they can see it but lack ``capability``."""
        try:
            obj = self.get_queryset(request).filter(pk=object_id).first()
        except (ValueError, TypeError):
            obj = None
        if obj is None:
            raise Http404("No such object.")
        if not self.has_capability(request, capability, obj):
            raise PermissionDenied
        return obj

    # --- forms: choices only from the user's projects --------------------------------------------

    def related_choices(self, request: HttpRequest, model: type[Model], capability: str) -> QuerySet[Any] | None:
        """Rows of ``model`` the user may pick (``None``: no restriction, e.g. for a superuser)."""
        access = access_for(request)
        if access.is_superuser:
            return None
        if model is Project:
            return Project.objects.filter(pk__in=access.projects(capability))
        related_admin = self.admin_site._registry.get(model)
        if isinstance(related_admin, ProjectScopedAdmin):
            return related_admin.scope_queryset(request, model._default_manager.all(), capability)
        if model is get_user_model():
            return project_members(project_ids=access.projects(VIEW))
        return None

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            scoped = self.related_choices(request, db_field.related_model, self.edit_capability)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            scoped = self.related_choices(request, db_field.related_model, self.edit_capability)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        access = access_for(request)
        if access.is_superuser or not self.project_path or self.project_path == "pk":
            return form_class
        hops = self.project_path.split("__")
        if hops[0] not in form_class.base_fields:
            return form_class  # the project is fixed (read-only here): has_change_permission checked it
        model_admin = self

        class ProjectScopedForm(form_class):  # type: ignore[misc, valid-type]
            """Refuses a project the user may not edit in, including "none" (a shared row)."""

            def clean(self) -> dict[str, Any]:
                data: dict[str, Any] = super().clean() or {}
                if hops[0] not in data:
                    return data
                target = data[hops[0]]
                if target is None:
                    project_id = None
                elif len(hops) == 1:
                    project_id = target.pk  # the field is the project itself
                else:
                    project_id = _walk_project_id(target, hops[1:])
                if project_id is None:
                    if not model_admin._shared_allowed(access, [model_admin.edit_capability]):
                        self.add_error(hops[0], "Only a superuser may edit rows shared by every project.")
                elif not access.can(model_admin.edit_capability, project_id):
                    self.add_error(hops[0], "You do not hold the role this needs in that project.")
                return data

        return ProjectScopedForm

    # --- list filters and actions -----------------------------------------------------------------

    def get_list_filter(self, request: HttpRequest) -> Any:
        scoped: list[Any] = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and get_fields_from_path(self.model, item)[-1].is_relation:
                scoped.append((item, ScopedRelatedFieldListFilter))
            else:
                scoped.append(item)
        return scoped

    def _capability_for_permission(self, permission: str) -> str:
        if permission in CAPABILITIES:
            return permission
        return self.edit_capability  # add, change, delete, and anything not named for a capability

    def get_action(self, action: Any) -> tuple[Callable[..., Any], str, str] | None:
        """Every action runs only on the selected rows in projects where the user holds what it needs."""
        found = super().get_action(action)
        if found is None:
            return None
        func, name, description = found
        needed = {self._capability_for_permission(p) for p in getattr(func, "allowed_permissions", ())}
        capabilities = tuple(sorted(needed or {self.edit_capability}))

        @functools.wraps(func)
        def scoped_action(modeladmin: ProjectScopedAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]) -> Any:
            allowed = modeladmin.scope_queryset(request, queryset, *capabilities)
            skipped = queryset.count() - allowed.count()
            if skipped:
                messages.warning(request, f"Skipped {skipped} selected row(s): you do not hold the role this needs.")
            return func(modeladmin, request, allowed)

        return scoped_action, name, description


class ScopedHistoryAdmin(ProjectScopedAdmin[_ModelT], SimpleHistoryAdmin):  # type: ignore[misc]
    """A scoped admin with django-simple-history's history pages; reverting needs the edit capability
    (simple-history itself lets anyone who may *view* the history post a revert)."""

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "POST":
            self.scoped_object(request, object_id, self.edit_capability)
        return super().history_form_view(request, object_id, version_id, extra_context)  # type: ignore[no-any-return]


class ScopedInlineMixin(InlineModelAdmin[Any, Any]):
    """An inline whose permissions follow its parent page's (scoped) permissions."""

    def _parent_admin(self) -> Any:
        return self.admin_site._registry[self.parent_model]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self._parent_admin().has_view_permission(request, obj))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self._parent_admin().has_change_permission(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self._parent_admin().has_change_permission(request, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self._parent_admin().has_change_permission(request, obj))


class SuperuserOnlyAdmin(admin.ModelAdmin[_ModelT]):
    """Pages only superusers see (who may do what, lockouts)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


def scoped_form_choices(form: forms.Form, request: HttpRequest, field_name: str, *capabilities: str) -> None:
    """Limit a plain form's project field to the user's projects with ``capabilities``."""
    field_ = form.fields[field_name]
    if isinstance(field_, forms.ModelChoiceField):
        field_.queryset = visible_projects(request, *capabilities)
