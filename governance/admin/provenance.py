"""Admin for provenance: the operators' review queue, and read-only envelopes, spans, reviews.

Envelopes, spans and reviews are append-only, so their pages are view-only for everyone.
The review queue's detail page shows the envelope with its trace and neighbouring steps, and
takes one action (approve, reject, override, escalate, assign) with a required note through
``review_append``; only operators of the envelope's project (and superusers) may act.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from governance.admin.scoping import OPERATE, ProjectScopedAdmin
from governance.errors import ArbiterError
from governance.models import DecisionEnvelope, Review, ReviewItem, Span
from governance.models.provenance import OPEN_REVIEW_STATES, ReviewAction
from governance.selectors import SpanNode, envelope_list, review_list, reviewer_candidates, span_tree
from governance.services.reviews import review_append


class ReadOnlyAdminMixin:
    """View-only pages for append-only records (no add, change or delete for anyone)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1h", "older than 1 hour"), ("1d", "older than 1 day"), ("7d", "older than 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        spans = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
        value = self.value()
        if value in spans:
            return queryset.filter(opened_at__lt=timezone.now() - spans[value])
        return queryset


class OpenFilter(admin.SimpleListFilter):
    """Open items by default: the queue is what still needs a decision."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("decided", "Decided"), ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        value = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or "open"
        if value == "open":
            return queryset.filter(state__in=OPEN_REVIEW_STATES)
        if value == "decided":
            return queryset.exclude(state__in=OPEN_REVIEW_STATES)
        return queryset


class ReviewActionForm(forms.Form):
    action = forms.ChoiceField(choices=ReviewAction.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), help_text="Required: why.")
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(),  # the item's project's operators, set by the page
        required=False,
        help_text="For assign.",
    )
    corrected_output = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text='For override: the corrected output as JSON (a string needs quotes: "…").',
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == ReviewAction.ASSIGN and not data.get("assignee"):
            self.add_error("assignee", "Choose whom to assign the review to.")
        if data.get("action") == ReviewAction.OVERRIDE and data.get("corrected_output") is None:
            self.add_error("corrected_output", "Give the corrected output.")
        return data


def _flatten(nodes: list[SpanNode], depth: int = 0) -> list[tuple[int, Span]]:
    rows: list[tuple[int, Span]] = []
    for node in nodes:
        rows.append((depth, node.span))
        rows.extend(_flatten(node.children, depth + 1))
    return rows


@admin.register(ReviewItem)
class ReviewItemAdmin(ProjectScopedAdmin[ReviewItem]):
    """The operators' review queue."""

    edit_capability = OPERATE

    list_display = ["envelope_link", "project", "decision_type", "risk", "state", "assignee", "age", "opened_at"]
    list_filter = [OpenFilter, "project", "decision_type", AgeFilter, "assignee", "risk", "state"]
    search_fields = ["envelope__id", "envelope__trace_id"]
    list_select_related = ["envelope", "project", "assignee"]
    ordering = ["opened_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReviewItem | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReviewItem | None = None) -> bool:
        # Items change only through review actions on the detail page, never by form editing.
        return False

    @admin.display(description="envelope")
    def envelope_link(self, obj: ReviewItem) -> str:
        url = reverse("admin:governance_reviewitem_change", args=[obj.pk])
        return format_html('<a href="{}">{} #{}</a>', url, obj.envelope.outcome, obj.envelope.seq)

    @admin.display(description="age")
    def age(self, obj: ReviewItem) -> str:
        return timesince(obj.opened_at)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The review page: the envelope, its trace and neighbours, its review history, the action form."""
        item = (
            self.get_queryset(request)
            .select_related("envelope__project", "envelope__parent", "assignee", "project")
            .filter(pk=object_id)
            .first()
        )
        if item is None:
            messages.warning(request, "That review item does not exist.")
            return HttpResponseRedirect(reverse("admin:governance_reviewitem_changelist"))
        may_review = self.has_operate_permission(request, item)
        can_review = may_review and item.is_open
        form = ReviewActionForm(request.POST or None)
        form.fields["assignee"].queryset = reviewer_candidates(project=item.project)  # type: ignore[attr-defined]
        if request.method == "POST":
            if not may_review:
                raise PermissionDenied
            if form.is_valid():
                try:
                    review = review_append(
                        envelope=item.envelope,
                        action=form.cleaned_data["action"],
                        note=form.cleaned_data["note"],
                        reviewer=request.user if isinstance(request.user, AbstractBaseUser) else None,
                        assignee=form.cleaned_data.get("assignee"),
                        corrected_output=form.cleaned_data.get("corrected_output"),
                    )
                except ArbiterError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.log_change(request, item, f"Review: {review.action} ({review.note[:100]})")
                    messages.success(request, f"Recorded: {review.get_action_display()}.")
                    return HttpResponseRedirect(request.path)
        envelope = item.envelope
        trace_spans = Span.objects.filter(project=envelope.project, trace_id=envelope.trace_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Review: {envelope.get_decision_type_display()} #{envelope.seq}",
            "item": item,
            "envelope": envelope,
            "reviews": review_list(envelope=envelope),
            "spans": _flatten(span_tree(list(trace_spans))),
            "neighbours": envelope_list(project=envelope.project, trace_id=envelope.trace_id).order_by("seq"),
            "form": form,
            "can_review": can_review,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/governance/reviewitem/review.html", context)


@admin.register(DecisionEnvelope)
class DecisionEnvelopeAdmin(ReadOnlyAdminMixin, ProjectScopedAdmin[DecisionEnvelope]):
    list_display = ["seq", "project", "decision_type", "outcome", "risk", "review", "trace_id", "created_at"]
    list_filter = ["project", "decision_type", "outcome", "risk", "content_storage", "needs_review"]
    search_fields = ["=id", "=trace_id", "rationale"]
    list_select_related = ["project", "review_item"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in DecisionEnvelope._meta.fields]

    @admin.display(description="review")
    def review(self, obj: DecisionEnvelope) -> str:
        item = getattr(obj, "review_item", None)
        if item is None:
            return "—"
        url = reverse("admin:governance_reviewitem_change", args=[item.pk])
        return format_html('<a href="{}">{}</a>', url, item.get_state_display())


@admin.register(Span)
class SpanAdmin(ReadOnlyAdminMixin, ProjectScopedAdmin[Span]):
    list_display = ["name", "project", "source", "kind", "status", "duration_ms", "trace_id", "start_time"]
    list_filter = ["project", "source", "kind", "status"]
    search_fields = ["=trace_id", "=span_id", "name"]
    list_select_related = ["project"]
    readonly_fields = [f.name for f in Span._meta.fields]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, ProjectScopedAdmin[Review]):
    project_path = "envelope__project"
    list_display = ["created_at", "action", "reviewer_label", "state_after", "envelope", "assignee"]
    list_filter = ["action", "state_after", "envelope__project"]
    search_fields = ["=envelope__id", "note", "reviewer_label"]
    list_select_related = ["envelope", "assignee"]
    readonly_fields = [f.name for f in Review._meta.fields]
