"""Admin for the prompt-injection classifier: curate and import training examples, train a new
version on a worker, read its held-out measurements and precision/recall curve, and promote a
version to a policy at a threshold calibrated for a target false-positive rate."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from governance.admin.scoping import CONFIGURE, ProjectScopedAdmin, access_for, scoped_form_choices, visible_projects
from governance.errors import ArbiterError
from governance.models import Project
from guardrails.classifier.shipped import shipped_models
from guardrails.classifier_charts import pr_curve_svg
from guardrails.classifier_models import (
    TARGET_FPR_CHOICES,
    ClassifierPromotion,
    ClassifierVersion,
    GuardExample,
    TrainingStatus,
)
from guardrails.models import GuardPolicy
from guardrails.services import classifier as cs

_TEMPLATES = "admin/guardrails/classifier"


class ExampleImportForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.all())
    file = forms.FileField(help_text="CSV with a header row (text, label[, category, language, source]) or JSONL.")
    source = forms.CharField(
        max_length=100, required=False, help_text="Source for rows that name none (default: the file name)."
    )


class TrainForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.all())
    name = forms.SlugField(max_length=64, initial="prompt-injection")
    include_starter = forms.BooleanField(
        required=False, initial=True, help_text="Train on the shipped starter set as well as the project's examples."
    )
    target_fpr = forms.TypedChoiceField(
        choices=TARGET_FPR_CHOICES,
        coerce=float,
        initial=0.01,
        label="Target false-positive rate",
        help_text="The default threshold is the lowest whose held-out false-positive rate is within this.",
    )


class PromoteForm(forms.Form):
    policy = forms.ModelChoiceField(queryset=GuardPolicy.objects.none())
    target_fpr = forms.TypedChoiceField(
        choices=TARGET_FPR_CHOICES,
        coerce=float,
        initial=0.01,
        label="Target false-positive rate",
        help_text="The threshold is chosen from the version's held-out benign texts.",
    )
    threshold = forms.FloatField(
        required=False, min_value=0.001, max_value=1.0, help_text="Optional: set the threshold by hand instead."
    )
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, policies: QuerySet[GuardPolicy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["policy"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = policies


def _user(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


@admin.register(GuardExample)
class GuardExampleAdmin(ProjectScopedAdmin[GuardExample]):
    list_display = ["preview", "label", "category", "language", "source", "project", "created_at"]
    list_filter = ["label", "project", "category", "language", "source"]
    search_fields = ["text", "source", "category"]
    list_select_related = ["project"]
    readonly_fields = ["created_at", "created_by"]
    fields = ["project", "label", "text", "category", "language", "source", "created_at", "created_by"]
    change_list_template = f"{_TEMPLATES}/example_change_list.html"

    @admin.display(description="text")
    def preview(self, obj: GuardExample) -> str:
        flat = " ".join(obj.text.split())
        return flat[:100] + ("…" if len(flat) > 100 else "")

    def save_model(self, request: HttpRequest, obj: GuardExample, form: Any, change: bool) -> None:
        cs.example_save(example=obj, user=_user(request))

    def delete_model(self, request: HttpRequest, obj: GuardExample) -> None:
        cs.example_delete(example=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[GuardExample]) -> None:
        for example in queryset:
            cs.example_delete(example=example)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="guardrails_guardexample_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ExampleImportForm(request.POST or None, request.FILES or None)
        scoped_form_choices(form, request, "project", CONFIGURE)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                count = cs.example_import(
                    project=form.cleaned_data["project"],
                    filename=upload.name,
                    content=upload.read(cs.MAX_UPLOAD_BYTES + 1),
                    default_source=form.cleaned_data["source"],
                    user=_user(request),
                )
            except ArbiterError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(request, f"Imported {count} examples.")
                return HttpResponseRedirect(reverse("admin:guardrails_guardexample_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import training examples",
            "form": form,
        }
        return TemplateResponse(request, f"{_TEMPLATES}/import.html", context)


@admin.register(ClassifierVersion)
class ClassifierVersionAdmin(ProjectScopedAdmin[ClassifierVersion]):
    list_display = [
        "label",
        "project",
        "status",
        "example_count",
        "threshold",
        "held_out_recall",
        "held_out_fpr",
        "created_at",
    ]
    list_filter = ["status", "project", "name"]
    search_fields = ["name", "sha256"]
    list_select_related = ["project"]
    change_list_template = f"{_TEMPLATES}/version_change_list.html"
    change_form_template = f"{_TEMPLATES}/version_change_form.html"
    exclude = ["artifact"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClassifierVersion]:
        return super().get_queryset(request).defer("artifact")

    @admin.display(description="held-out recall")
    def held_out_recall(self, obj: ClassifierVersion) -> Any:
        return obj.overall.get("recall")

    @admin.display(description="held-out FPR")
    def held_out_fpr(self, obj: ClassifierVersion) -> Any:
        return obj.overall.get("false_positive_rate")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a version is made by training ("Train a new version"), never typed in

    def has_change_permission(self, request: HttpRequest, obj: ClassifierVersion | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("train/", view(self.train_view), name="guardrails_classifierversion_train"),
            path("shipped/<str:sha256>/", view(self.shipped_view), name="guardrails_classifierversion_shipped"),
            path("promote/", view(require_POST(self.promote_view)), name="guardrails_classifierversion_promote"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        shipped = [
            {"model": m, "url": reverse("admin:guardrails_classifierversion_shipped", args=[m.sha256])}
            for m in shipped_models()
        ]
        return super().changelist_view(request, {**(extra_context or {}), "shipped": shipped})

    def _editable_policies(self, request: HttpRequest) -> QuerySet[GuardPolicy]:
        """The policies the user may promote a classifier to: those of projects they configure."""
        return (
            GuardPolicy.objects.filter(project__in=visible_projects(request, CONFIGURE))
            .select_related("project")
            .order_by("project__slug", "slug")
        )

    def _detail_context(
        self, request: HttpRequest, candidate: cs.Candidate, report: dict[str, Any], project: Project | None
    ) -> dict[str, Any]:
        policies = self._editable_policies(request)
        if project is not None:
            policies = policies.filter(project=project)
        return {
            "candidate": candidate,
            "candidate_key": f"version:{candidate.version.pk}" if candidate.version else f"shipped:{candidate.sha256}",
            "report": report,
            "chart": pr_curve_svg(
                report.get("pr_curve") or candidate.calibration, marked_threshold=candidate.default_threshold
            ),
            "report_groups": [
                ("Category", sorted((report.get("by_category") or {}).items())),
                ("Source", sorted((report.get("by_source") or {}).items())),
            ],
            "promote_form": PromoteForm(policies=policies, initial={"target_fpr": report.get("target_fpr", 0.01)}),
            "promote_url": reverse("admin:guardrails_classifierversion_promote"),
            "promotions": ClassifierPromotion.objects.filter(
                sha256=candidate.sha256, project__in=visible_projects(request)
            )
            .select_related("policy", "policy__project", "promoted_by")
            .order_by("-promoted_at")[:20],
        }

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        version = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if version is not None and version.status == TrainingStatus.READY:
            candidate = cs.Candidate.of_version(version)
            context.update(self._detail_context(request, candidate, version.report or {}, version.project))
        return super().change_view(request, object_id, form_url, context)

    def shipped_view(self, request: HttpRequest, sha256: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        shipped = next((m for m in shipped_models() if m.sha256 == sha256), None)
        if shipped is None:
            raise Http404("no shipped classifier with this digest")
        report = json.loads(shipped.report_path.read_text()) if shipped.report_path.exists() else {}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Shipped classifier {shipped.label}",
            "shipped": shipped,
            **self._detail_context(request, cs.Candidate.of_shipped(shipped), report, None),
        }
        return TemplateResponse(request, f"{_TEMPLATES}/shipped.html", context)

    def train_view(self, request: HttpRequest) -> HttpResponse:
        if not access_for(request).anywhere(CONFIGURE):
            raise PermissionDenied
        form = TrainForm(request.POST or None)
        scoped_form_choices(form, request, "project", CONFIGURE)
        if request.method == "POST" and form.is_valid():
            try:
                version = cs.version_request(
                    project=form.cleaned_data["project"],
                    user=_user(request),
                    name=form.cleaned_data["name"],
                    include_starter=form.cleaned_data["include_starter"],
                    target_fpr=form.cleaned_data["target_fpr"],
                )
            except ArbiterError as exc:
                form.add_error(None, exc.message)
            else:
                version.refresh_from_db()
                messages.success(request, f"{version.label}: {version.status}.")
                return HttpResponseRedirect(reverse("admin:guardrails_classifierversion_change", args=[version.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Train a new classifier version",
            "form": form,
        }
        return TemplateResponse(request, f"{_TEMPLATES}/train.html", context)

    def promote_view(self, request: HttpRequest) -> HttpResponse:
        """POST only: make a version (trained or shipped) a policy's classifier (policy editors)."""
        if not access_for(request).anywhere(CONFIGURE):
            raise PermissionDenied
        key = str(request.POST.get("candidate", ""))
        kind, _, ref = key.partition(":")
        editable = self._editable_policies(request)
        if kind == "version" and ref.isdigit():
            version = self.scoped_object(request, int(ref), CONFIGURE)
            candidate = cs.Candidate.of_version(version)
            policies = editable.filter(project=version.project_id)
            back = reverse("admin:guardrails_classifierversion_change", args=[version.pk])
        elif kind == "shipped" and any(m.sha256 == ref for m in shipped_models()):
            candidate = next(cs.Candidate.of_shipped(m) for m in shipped_models() if m.sha256 == ref)
            policies = editable
            back = reverse("admin:guardrails_classifierversion_shipped", args=[ref])
        else:
            raise Http404("unknown classifier")
        form = PromoteForm(request.POST, policies=policies)
        if not form.is_valid():
            messages.error(request, f"Not promoted: {form.errors.as_text()}")
            return HttpResponseRedirect(back)
        try:
            promotion = cs.version_promote(
                candidate=candidate,
                policy=form.cleaned_data["policy"],
                target_fpr=form.cleaned_data["target_fpr"],
                threshold=form.cleaned_data["threshold"],
                user=_user(request),
                note=form.cleaned_data["note"],
            )
        except ArbiterError as exc:
            messages.error(request, f"Not promoted: {exc.message}")
            return HttpResponseRedirect(back)
        messages.success(
            request,
            f"{promotion.model_label} is now the classifier of {promotion.policy.slug} "
            f"(threshold {promotion.threshold:g}, policy v{promotion.policy_version}).",
        )
        return HttpResponseRedirect(back)


@admin.register(ClassifierPromotion)
class ClassifierPromotionAdmin(ProjectScopedAdmin[ClassifierPromotion]):
    list_display = [
        "promoted_at",
        "policy",
        "model_label",
        "threshold",
        "target_fpr",
        "previous_label",
        "policy_version",
        "promoted_by",
    ]
    list_filter = ["project", "model_label"]
    search_fields = ["model_label", "sha256", "policy__slug", "note"]
    list_select_related = ["policy", "policy__project", "promoted_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # promotions are made from a version's page

    def has_change_permission(self, request: HttpRequest, obj: ClassifierPromotion | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ClassifierPromotion | None = None) -> bool:
        return False
