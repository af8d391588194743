"""Admin for guard policies and rules: edit, preview on recent traffic, try it, see hits and history."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from governance.admin.scoping import CONFIGURE, ProjectScopedAdmin, ScopedHistoryAdmin
from governance.errors import ArbiterError
from guardrails import selectors, services
from guardrails.engine import preview_rule
from guardrails.forms import GuardRuleForm, TryItForm
from guardrails.models import GuardPolicy, GuardPolicyVersion, GuardRule


@admin.register(GuardPolicy)
class GuardPolicyAdmin(ScopedHistoryAdmin[GuardPolicy]):
    list_display = ["slug", "project", "name", "version", "fail_mode", "rule_count", "updated_at"]
    list_filter = ["project", "fail_mode"]
    search_fields = ["slug", "name", "description"]
    list_select_related = ["project"]
    readonly_fields = ["version", "created_at", "updated_at"]
    fields = [
        "project",
        "slug",
        "name",
        "description",
        "fail_mode",
        "max_text_chars",
        "version",
        "created_at",
        "updated_at",
    ]
    change_form_template = "admin/guardrails/guardpolicy/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[GuardPolicy]:
        return super().get_queryset(request).annotate(rule_total=Count("rules"))

    @admin.display(description="rules", ordering="rule_total")
    def rule_count(self, obj: GuardPolicy) -> int:
        return getattr(obj, "rule_total", 0)

    def get_readonly_fields(self, request: HttpRequest, obj: GuardPolicy | None = None) -> list[str]:
        return [*self.readonly_fields, "project", "slug"] if obj else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: GuardPolicy, form: Any, change: bool) -> None:
        user = request.user if isinstance(request.user, AbstractBaseUser) else None
        if change:
            services.policy_save(policy=obj, user=user)
        else:
            created = services.policy_create(
                project=obj.project,
                slug=obj.slug,
                name=obj.name,
                description=obj.description,
                fail_mode=obj.fail_mode,
                user=user,
            )
            obj.pk = created.pk
            obj.version = created.version

    def get_urls(self) -> list[URLPattern]:
        return [
            path("<int:object_id>/try/", self.admin_site.admin_view(self.try_view), name="guardrails_guardpolicy_try"),
            *super().get_urls(),
        ]

    def _extra_context(self, request: HttpRequest, policy: GuardPolicy) -> dict[str, Any]:
        days = [date.today() - timedelta(days=n) for n in range(6, -1, -1)]
        counts = selectors.rule_hit_counts(policy=policy, days=7)
        rules: list[dict[str, Any]] = [
            {
                "rule": rule,
                "url": reverse("admin:guardrails_guardrule_change", args=[rule.pk]),
                "hits": [counts.get(rule.pk, {}).get(day, 0) for day in days],
                "total": sum(counts.get(rule.pk, {}).values()),
            }
            for rule in policy.rules.order_by("position", "id")
        ]
        peak = max([h for r in rules for h in r["hits"]] or [0]) or 1
        for r in rules:
            r["bars"] = [(h, round(100 * h / peak)) for h in r["hits"]]
        return {
            "rules": rules,
            "days": days,
            "versions": policy.versions.select_related("published_by")[:20],
            "add_rule_url": reverse("admin:guardrails_guardrule_add") + f"?policy={policy.pk}",
            "can_try": self.has_configure_permission(request, policy),
            "try_form": TryItForm(),
            "try_url": reverse("admin:guardrails_guardpolicy_try", args=[policy.pk]),
        }

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        policy = self.get_object(request, object_id)
        context = {**(extra_context or {}), **(self._extra_context(request, policy) if policy else {})}
        return super().change_view(request, object_id, form_url, context)

    def try_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Run the published policy on pasted text, as the API would (an envelope is recorded)."""
        # Checking writes an envelope to the project's ledger: a change, so it needs the policy editor's role.
        policy = self.scoped_object(request, object_id, CONFIGURE)
        form = TryItForm(request.POST or None)
        outcome: dict[str, Any] | None = None
        if request.method == "POST" and form.is_valid():
            try:
                check = services.check(
                    project=policy.project,
                    policy_slug=policy.slug,
                    stage=form.cleaned_data["stage"],
                    text=form.cleaned_data["text"],
                    context={"feature": "admin-try-it", "end_user": f"admin:{request.user.pk}"},
                )
                outcome = {
                    "result": check.result,
                    "envelope": check.envelope,
                    "latency": {t.label: round(ms, 3) for t, ms in check.result.latency_ms.items()},
                }
            except ArbiterError as exc:
                messages.error(request, exc.message)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": policy,
            "title": f"Try policy {policy.slug} (v{policy.version})",
            "try_form": form,
            "outcome": outcome,
        }
        return TemplateResponse(request, "admin/guardrails/guardpolicy/try.html", context)


@admin.register(GuardRule)
class GuardRuleAdmin(ScopedHistoryAdmin[GuardRule]):
    project_path = "policy__project"
    form = GuardRuleForm
    list_display = ["name", "policy", "kind", "stage", "action", "severity", "enabled", "hits_7d", "updated_at"]
    list_filter = ["policy__project", "policy", "kind", "stage", "action", "severity", "enabled"]
    search_fields = ["name", "policy__slug"]
    list_select_related = ["policy", "policy__project"]
    fields = ["policy", "name", "kind", "stage", "action", "severity", "enabled", "fail_mode", "position", "config"]
    change_form_template = "admin/guardrails/guardrule/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[GuardRule]:
        since = date.today() - timedelta(days=6)
        hits = Sum("daily_hits__hits", filter=Q(daily_hits__day__gte=since), default=0)
        return super().get_queryset(request).annotate(hits_total=hits)

    @admin.display(description="hits (7 days)", ordering="hits_total")
    def hits_7d(self, obj: GuardRule) -> int:
        return getattr(obj, "hits_total", 0)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        if "kind" in request.GET:
            initial["kind"] = request.GET["kind"]
        return initial

    def get_form(self, request: HttpRequest, obj: GuardRule | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        # django-jsonform builds the config editor from the rule's kind; a new rule takes it from ?kind=.
        if "config" in form.base_fields:  # absent when the page is read-only for this user
            widget = form.base_fields["config"].widget
            widget.instance = obj or GuardRule(kind=request.GET.get("kind") or request.POST.get("kind") or "phrases")
        return form

    def save_model(self, request: HttpRequest, obj: GuardRule, form: Any, change: bool) -> None:
        try:
            services.rule_save(rule=obj, user=request.user if isinstance(request.user, AbstractBaseUser) else None)
        except ArbiterError as exc:
            messages.error(request, exc.message)
            raise

    def delete_model(self, request: HttpRequest, obj: GuardRule) -> None:
        services.rule_delete(rule=obj, user=request.user if isinstance(request.user, AbstractBaseUser) else None)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[GuardRule]) -> None:
        for rule in queryset:
            self.delete_model(request, rule)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and "_preview" in request.POST:
            return self._preview(request, object_id)
        context = {**(extra_context or {}), "show_preview_button": True}
        return super().changeform_view(request, object_id, form_url, context)

    def _preview(self, request: HttpRequest, object_id: str | None) -> HttpResponse:
        """Validate the submitted rule and show what it would have matched, without saving it."""
        obj = self.get_object(request, object_id) if object_id else None
        if not (self.has_change_permission(request, obj) if obj else self.has_add_permission(request)):
            raise PermissionDenied
        form_class = self.get_form(request, obj, change=obj is not None)
        form = form_class(request.POST, request.FILES, instance=obj)
        preview: dict[str, Any] = {"ran": False}
        if form.is_valid():
            rule = form.instance
            samples = selectors.recent_texts(
                project=rule.policy.project, stage=None if rule.stage == "both" else rule.stage
            )
            try:
                matches = preview_rule(rule.kind, rule.config or {}, samples)
                preview = {
                    "ran": True,
                    "samples": len(samples),
                    "matches": matches[:100],
                    "match_count": len(matches),
                    "texts": samples,
                }
            except ValueError as exc:
                form.add_error("config", str(exc))
        fieldsets: Any = list(self.get_fieldsets(request, obj))
        admin_form = helpers.AdminForm(form, fieldsets, {}, self.get_readonly_fields(request, obj), model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": "Preview rule",
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "show_preview_button": True,
            "preview": preview,
        }
        return self.render_change_form(request, context, add=obj is None, change=obj is not None, obj=obj)


@admin.register(GuardPolicyVersion)
class GuardPolicyVersionAdmin(ProjectScopedAdmin[GuardPolicyVersion]):
    project_path = "policy__project"
    list_display = ["policy", "version", "rule_count", "published_at", "published_by", "change_note"]
    list_filter = ["policy__project", "policy"]
    search_fields = ["policy__slug", "change_note"]
    list_select_related = ["policy", "policy__project", "published_by"]
    readonly_fields = ["policy", "version", "spec", "published_at", "published_by", "change_note"]

    @admin.display(description="rules")
    def rule_count(self, obj: GuardPolicyVersion) -> int:
        return len(obj.spec.get("rules", []))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: GuardPolicyVersion | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: GuardPolicyVersion | None = None) -> bool:
        return False


# The classifier's examples, versions and promotions.
from guardrails import classifier_admin  # noqa: E402, F401
