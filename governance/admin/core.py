"""Admin for projects, API keys, providers, models and alerts."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from governance.admin.access import MembershipFormSetSaving, ProjectMembershipInline
from governance.admin.scoping import (
    CONFIGURE,
    OPERATE,
    VIEW,
    ProjectScopedAdmin,
    ScopedInlineMixin,
    access_for,
    visible_projects,
)
from governance.forms import ApiKeyCreateForm
from governance.models import Alert, ApiKey, ModelEndpoint, Project, Provider
from governance.services.alerts import alert_acknowledge
from governance.services.api_keys import api_key_create, api_key_revoke
from governance.services.projects import project_create, project_update
from governance.services.provider_calls import breaker_list, breaker_reset


@admin.register(Project)
class ProjectAdmin(MembershipFormSetSaving, ProjectScopedAdmin[Project]):
    """Members see their projects; a policy editor changes its settings; only superusers create or delete one."""

    project_path = "pk"
    inlines = [ProjectMembershipInline]
    list_display = ["slug", "name", "content_storage", "retention_days", "time_zone", "created_at"]
    list_filter = ["content_storage"]
    search_fields = ["slug", "name"]
    readonly_fields = ["created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return access_for(request).is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        return access_for(request).is_superuser

    def get_readonly_fields(self, request: HttpRequest, obj: Project | None = None) -> list[str]:
        # The slug is what API clients and other services refer to: fixed once created.
        return [*self.readonly_fields, "slug"] if obj else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Project, form: Any, change: bool) -> None:
        if change:
            project_update(project=obj)
            return
        # Through the service, so the other apps give the new project its defaults (e.g. a guard policy).
        created = project_create(
            slug=obj.slug,
            name=obj.name,
            content_storage=obj.content_storage,
            retention_days=obj.retention_days,
            time_zone=obj.time_zone,
        )
        obj.pk = created.pk


@admin.register(ApiKey)
class ApiKeyAdmin(ProjectScopedAdmin[ApiKey]):
    list_display = ["name", "project", "prefix", "scope_list", "status", "expires_at", "last_used_at", "created_at"]
    list_filter = ["project", "revoked_at"]
    search_fields = ["name", "prefix", "project__slug"]
    list_select_related = ["project"]
    readonly_fields = [
        "project",
        "name",
        "prefix",
        "scopes",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "created_at",
        "created_by",
    ]
    actions = ["revoke_keys"]

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="status")
    def status(self, obj: ApiKey) -> str:
        if obj.revoked_at:
            return "revoked"
        if obj.expires_at and obj.expires_at <= timezone.now():
            return "expired"
        return "active"

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # keys are issued and revoked, never edited

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Issue a key and show its secret once; only the hash is kept."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        access = access_for(request)
        form = ApiKeyCreateForm(
            request.POST or None,
            initial={"project": request.GET.get("project")},
            projects=visible_projects(request, CONFIGURE),
            operator_projects=None if access.is_superuser else access.projects(OPERATE),
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Issue an API key",
            "form": form,
        }
        if request.method == "POST" and form.is_valid():
            issued = api_key_create(
                project=form.cleaned_data["project"],
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.cleaned_data["expires_at"],
                created_by=request.user if isinstance(request.user, AbstractBaseUser) else None,
            )
            self.log_addition(request, issued.api_key, [{"added": {}}])
            context.update({"title": "API key issued", "issued": issued})
            return TemplateResponse(request, "admin/governance/apikey/issued.html", context)
        return TemplateResponse(request, "admin/governance/apikey/issue.html", context)

    @admin.action(description="Revoke selected keys", permissions=["delete"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
            self.log_change(request, api_key, "Revoked")
        messages.success(request, f"Revoked {queryset.count()} key(s).")


class ModelEndpointInline(ScopedInlineMixin, admin.TabularInline[ModelEndpoint, Provider]):
    model = ModelEndpoint
    extra = 0
    fields = ["name", "context_window", "max_output_tokens", "enabled"]


@admin.register(Provider)
class ProviderAdmin(ProjectScopedAdmin[Provider]):
    """Providers serve every project: members read them, superusers change them; an operator of any
    project may reset a breaker (the on-call action after a provider recovers)."""

    project_path = None
    shared_capabilities = frozenset({VIEW, OPERATE})
    list_display = ["name", "kind_label", "base_url", "api_key_env", "enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "base_url"]
    inlines = [ModelEndpointInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["name", "kind", "base_url", "api_key_env", "enabled"]}),
        (
            "Timeouts and retries",
            {
                "fields": [
                    "connect_timeout_s",
                    "read_timeout_s",
                    "max_attempts",
                    "backoff_base_s",
                    "backoff_max_s",
                    "retry_budget_ratio",
                ]
            },
        ),
        (
            "Circuit breaker",
            {
                "fields": [
                    "breaker_window_size",
                    "breaker_minimum_calls",
                    "breaker_failure_rate",
                    "breaker_slow_call_s",
                    "breaker_slow_call_rate",
                    "breaker_wait_in_open_s",
                    "breaker_half_open_calls",
                ]
            },
        ),
        ("Offline simulator", {"fields": ["offline_config"], "classes": ["collapse"]}),
    ]

    change_list_template = "admin/governance/provider/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        return [
            path("breakers/", self.admin_site.admin_view(self.breakers_view), name="governance_provider_breakers"),
            path(
                "breakers/reset/",
                self.admin_site.admin_view(require_POST(self.breaker_reset_view)),
                name="governance_provider_breaker_reset",
            ),
            *super().get_urls(),
        ]

    def breakers_view(self, request: HttpRequest) -> HttpResponse:
        """Every breaker this deployment has seen, with its state as all processes share it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Circuit breakers",
            "breakers": breaker_list(),
        }
        return TemplateResponse(request, "admin/governance/provider/breakers.html", context)

    def breaker_reset_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_operate_permission(request):
            raise PermissionDenied
        key = request.POST.get("key", "")
        breaker_reset(key=key)
        messages.success(request, f"Breaker {key} reset to closed.")
        return HttpResponseRedirect(reverse("admin:governance_provider_breakers"))

    @admin.display(description="kind", ordering="kind")
    def kind_label(self, obj: Provider) -> str:
        if obj.is_simulated:
            return format_html('{} <strong style="color:#b45309">(simulated)</strong>', obj.get_kind_display())
        return obj.get_kind_display()


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(ProjectScopedAdmin[ModelEndpoint]):
    project_path = None
    list_display = ["name", "provider", "context_window", "max_output_tokens", "enabled"]
    list_filter = ["provider", "enabled"]
    search_fields = ["name", "provider__name"]
    list_select_related = ["provider"]


@admin.register(Alert)
class AlertAdmin(ProjectScopedAdmin[Alert]):
    """Alerts of the user's projects, and those no project owns (breakers); operators acknowledge them."""

    edit_capability = OPERATE
    shared_capabilities = frozenset({VIEW, OPERATE})
    list_display = [
        "kind",
        "severity",
        "subject",
        "project",
        "count",
        "first_seen_at",
        "last_seen_at",
        "acknowledged_at",
    ]
    list_filter = ["kind", "severity", ("acknowledged_at", admin.EmptyFieldListFilter), "project"]
    search_fields = ["subject", "message"]
    list_select_related = ["project", "acknowledged_by"]
    readonly_fields = [f.name for f in Alert._meta.fields]
    actions = ["acknowledge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False  # raised by Arbiter, acknowledged through the action, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False

    @admin.action(description="Acknowledge selected alerts", permissions=["operate"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        user = request.user if isinstance(request.user, AbstractBaseUser) else None
        for alert in queryset.filter(acknowledged_at__isnull=True):
            alert_acknowledge(alert=alert, user=user)
            self.log_change(request, alert, "Acknowledged")
        messages.success(request, "Acknowledged.")
