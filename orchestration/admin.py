"""Admin for model aliases (with their endpoints), outbound quotas, and prompts with their versions.

Every save goes through a service (validation first, then the row); prompt versions are
append-only: editing a prompt's text adds a version, and "current version" picks which one
floating callers get (a rollback is choosing an older number).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, ForeignKey, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django_jsonform.forms.fields import JSONFormField

from governance.admin.scoping import ProjectScopedAdmin, ScopedHistoryAdmin, ScopedInlineMixin
from governance.errors import ArbiterError
from governance.models import ModelEndpoint
from orchestration.engine.prompts import ROLES
from orchestration.models import AliasEndpoint, EndpointQuota, ModelAlias, PromptTemplate, PromptVersion
from orchestration.services import aliases as alias_services
from orchestration.services import prompts as prompt_services


def _messages_schema() -> dict[str, Any]:
    # A fresh dict every time: django-jsonform annotates the schema it is given.
    return {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "keys": {
                "role": {"type": "string", "choices": list(ROLES), "default": "user"},
                "template": {"type": "string", "widget": "textarea"},
            },
            "required": ["role", "template"],
        },
    }


class AliasEndpointInline(ScopedInlineMixin, admin.TabularInline[AliasEndpoint, ModelAlias]):
    model = AliasEndpoint
    extra = 1
    fields = ["model", "priority", "weight", "enabled"]

    def formfield_for_foreignkey(self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "model":
            kwargs["queryset"] = ModelEndpoint.objects.select_related("provider").filter(enabled=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AliasEndpoint]:
        return super().get_queryset(request).select_related("model__provider", "alias")


@admin.register(ModelAlias)
class ModelAliasAdmin(ScopedHistoryAdmin[ModelAlias]):
    list_display = ["name", "project", "endpoint_count", "max_tokens", "enabled", "updated_at"]
    list_filter = ["project", "enabled"]
    search_fields = ["name", "description"]
    list_select_related = ["project"]
    fields = ["project", "name", "description", "max_tokens", "connect_timeout_s", "read_timeout_s", "enabled"]
    inlines = [AliasEndpointInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelAlias]:
        return super().get_queryset(request).annotate(endpoint_total=Count("endpoints"))

    @admin.display(description="endpoints", ordering="endpoint_total")
    def endpoint_count(self, obj: ModelAlias) -> int:
        return getattr(obj, "endpoint_total", 0)

    def get_readonly_fields(self, request: HttpRequest, obj: ModelAlias | None = None) -> list[str]:
        return ["project"] if obj else []

    def save_model(self, request: HttpRequest, obj: ModelAlias, form: Any, change: bool) -> None:
        alias_services.alias_save(alias=obj)

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseInlineFormSet[AliasEndpoint, ModelAlias, Any], change: bool
    ) -> None:
        for endpoint in formset.save(commit=False):
            alias_services.alias_endpoint_save(endpoint=endpoint)
        for deleted in formset.deleted_objects:
            alias_services.alias_endpoint_delete(endpoint=cast(AliasEndpoint, deleted))


@admin.register(EndpointQuota)
class EndpointQuotaAdmin(ScopedHistoryAdmin[EndpointQuota]):
    """Quotas are a provider account's limits, shared by every project: superusers edit them,
    every staff user with a project may read them (like providers)."""

    project_path = None
    list_display = ["endpoint", "requests_per_minute", "tokens_per_minute", "max_wait_s"]
    list_select_related = ["endpoint__provider"]
    list_filter = ["endpoint__provider"]
    search_fields = ["endpoint__name", "endpoint__provider__name"]

    def formfield_for_foreignkey(self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "endpoint":
            kwargs["queryset"] = ModelEndpoint.objects.select_related("provider")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: EndpointQuota, form: Any, change: bool) -> None:
        alias_services.endpoint_quota_save(quota=obj)


class PromptTemplateForm(forms.ModelForm[PromptTemplate]):
    """The template's fields plus its text: a changed text becomes the next version."""

    messages = JSONFormField(schema=_messages_schema(), help_text="Jinja2 (sandboxed): {{ variable }}, if, for.")
    note = forms.CharField(max_length=300, required=False, help_text="What changed (kept with the version).")
    make_current = forms.BooleanField(
        required=False, initial=True, help_text="Floating callers get the new version at once."
    )

    class Meta:
        model = PromptTemplate
        fields = ["project", "name", "description", "current_version"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        template = self.instance
        if template.pk:
            latest = template.versions.order_by("-version").first()
            if latest is not None:
                self.fields["messages"].initial = latest.messages
            numbers = list(template.versions.order_by("-version").values_list("version", flat=True))
            self.fields["current_version"] = forms.TypedChoiceField(
                choices=[(n, f"v{n}") for n in numbers], coerce=int, initial=template.current_version,
                help_text="What callers get unless they pin a version (pick an older one to roll back).",
            )  # fmt: skip
        else:
            self.fields.pop("current_version", None)

    def clean_messages(self) -> Any:
        from orchestration.engine import prompts as engine

        value = self.cleaned_data["messages"]
        if not isinstance(value, list) or not value:
            raise forms.ValidationError("Add at least one message.")
        try:
            engine.compile_prompt([engine.MessageTemplate(str(m.get("role")), str(m.get("template"))) for m in value])
        except (engine.PromptError, AttributeError) as exc:
            raise forms.ValidationError(getattr(exc, "message", "Each message needs a role and a template.")) from exc
        return value


class PromptVersionInline(ScopedInlineMixin, admin.TabularInline[PromptVersion, PromptTemplate]):
    model = PromptVersion
    extra = 0
    can_delete = False
    fields = ["version", "digest", "variables", "note", "created_at", "created_by"]
    readonly_fields = ["version", "digest", "variables", "note", "created_at", "created_by"]
    ordering = ["-version"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromptVersion]:
        return super().get_queryset(request).select_related("created_by", "template")


@admin.register(PromptTemplate)
class PromptTemplateAdmin(ScopedHistoryAdmin[PromptTemplate]):
    form = PromptTemplateForm
    list_display = ["name", "project", "current_version", "version_count", "updated_at"]
    list_filter = ["project"]
    search_fields = ["name", "description"]
    list_select_related = ["project"]
    inlines = [PromptVersionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromptTemplate]:
        return super().get_queryset(request).annotate(version_total=Count("versions"))

    @admin.display(description="versions", ordering="version_total")
    def version_count(self, obj: PromptTemplate) -> int:
        return getattr(obj, "version_total", 0)

    def get_fields(self, request: HttpRequest, obj: PromptTemplate | None = None) -> Any:
        base = ["project", "name", "description"]
        return [*base, "current_version", "messages", "note", "make_current"] if obj else [*base, "messages", "note"]

    def get_readonly_fields(self, request: HttpRequest, obj: PromptTemplate | None = None) -> list[str]:
        return ["project", "name"] if obj else []

    def save_model(self, request: HttpRequest, obj: PromptTemplate, form: Any, change: bool) -> None:
        user = request.user if request.user.is_authenticated else None
        data = form.cleaned_data
        try:
            if change:
                prompt_services.prompt_template_save(template=obj)
                version = prompt_services.prompt_version_create(
                    template=obj, messages=data["messages"], note=data.get("note", ""), user=user,
                    make_current=bool(data.get("make_current")),
                )  # fmt: skip
            else:
                created = prompt_services.prompt_template_create(
                    project=obj.project, name=obj.name, description=obj.description, messages=data["messages"],
                    user=user,
                )  # fmt: skip
                obj.pk, obj.current_version = created.pk, created.current_version
                version = created.versions.get(version=created.current_version)
        except ArbiterError as exc:
            messages.error(request, exc.message)
            raise
        messages.info(request, f"{obj.name}: version {version.version} (current: v{obj.current_version}).")

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseInlineFormSet[Any, Any, Any], change: bool
    ) -> None:
        # The versions inline is read-only: nothing to save (prompt_version_create wrote the new
        # version), but the formset must still run its save bookkeeping for the change message.
        formset.save(commit=False)


@admin.register(PromptVersion)
class PromptVersionAdmin(ProjectScopedAdmin[PromptVersion]):
    """Read-only: versions are never edited (a new text is a new version)."""

    project_path = "template__project"
    list_display = ["template", "version", "digest", "note", "created_at", "created_by"]
    list_filter = ["template__project"]
    search_fields = ["template__name", "note"]
    list_select_related = ["template__project", "created_by"]
    readonly_fields = ["template", "version", "messages", "variables", "digest", "max_rendered_chars",
                       "max_iterations", "max_render_ms", "note", "created_at", "created_by"]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
