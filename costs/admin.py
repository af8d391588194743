"""Admin for prices, budgets and the (read-only) ledgers, plus the cost dashboards."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from costs import reports
from costs.charts import bar_chart
from costs.forms import REPORTS, DashboardFilterForm, PriceImportForm
from costs.models import (
    Budget,
    BudgetCounter,
    BudgetReservation,
    ModelPrice,
    Outcome,
    RollupDay,
    RollupMark,
    UsageRecord,
)
from costs.pricing import nanos_to_usd_or_none
from costs.services.budgets import budget_save
from costs.services.prices import price_list_import
from governance.admin.scoping import CONFIGURE, ProjectScopedAdmin, ScopedInlineMixin, access_for, visible_projects
from governance.errors import ArbiterError
from governance.models import Project


class ReadOnlyAdmin(ProjectScopedAdmin[Any]):
    """Append-only records: visible, never added, changed or deleted in the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelPrice)
class ModelPriceAdmin(ProjectScopedAdmin[ModelPrice]):
    """A project's own prices are its policy editors'; the global list (no project) is the superusers'."""

    list_display = [
        "provider", "model", "match", "project", "input_per_mtok", "output_per_mtok", "cache_read_per_mtok",
        "cache_write_per_mtok", "long_context_threshold", "effective_from",
    ]  # fmt: skip
    list_filter = ["provider", "match", "project"]
    search_fields = ["provider", "model", "note"]
    list_select_related = ["project"]
    date_hierarchy = "effective_from"
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["project", "provider", "model", "match", "effective_from", "note"]}),
        (
            "USD per million tokens",
            {"fields": ["input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok"]},
        ),
        (
            "Long-context tier",
            {
                "fields": [
                    "long_context_threshold",
                    "long_input_per_mtok",
                    "long_output_per_mtok",
                    "long_cache_read_per_mtok",
                    "long_cache_write_per_mtok",
                ]
            },
        ),
        (None, {"fields": ["created_at"]}),
    ]

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="costs_modelprice_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a JSON or CSV price list (POST only changes anything); all rows or none."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PriceImportForm(
            request.POST or None,
            request.FILES or None,
            projects=visible_projects(request, CONFIGURE),
            global_allowed=access_for(request).is_superuser,
        )
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            fmt = "csv" if upload.name.lower().endswith(".csv") else "json"
            try:
                result = price_list_import(
                    content=upload.read().decode("utf-8-sig"), fmt=fmt, project=form.cleaned_data["project"]
                )
            except (ArbiterError, UnicodeDecodeError) as exc:
                detail = exc.detail if isinstance(exc, ArbiterError) else None
                form.add_error("file", f"{exc}{': ' + '; '.join(detail) if detail else ''}")
            else:
                messages.success(request, f"Imported {result.created} price(s); {result.unchanged} already present.")
                return HttpResponseRedirect(reverse("admin:costs_modelprice_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import a price list",
            "form": form,
        }
        return TemplateResponse(request, "admin/costs/modelprice/import.html", context)


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at", "project", "provider", "model", "feature", "customer", "status", "attempt",
        "input_tokens_total", "output_tokens", "cost", "simulated",
    ]  # fmt: skip
    list_filter = ["project", "status", "source", "cost_source", "simulated", "provider"]
    search_fields = ["trace_id", "run_id", "client_id", "model", "feature", "customer", "request_hash"]
    list_select_related = ["project"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # COUNT(*) over tens of millions of rows is not worth a page load

    @admin.display(description="cost (USD)")
    def cost(self, obj: UsageRecord) -> str:
        usd = nanos_to_usd_or_none(obj.cost_nanos)
        return "unknown" if usd is None else f"{usd:.6f}"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.dashboard_view)
        return [
            path("dashboard/", view, {"report": "cost-per-outcome"}, name="costs_dashboard_home"),
            path("dashboard/<slug:report>/", view, name="costs_dashboard"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request: HttpRequest, report: str) -> HttpResponse:
        """The cost dashboards: one report per tab, filtered by project, period and tags."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if report not in dict(REPORTS):
            return HttpResponseRedirect(reverse("admin:costs_dashboard_home"))
        data = request.GET.copy()
        projects = visible_projects(request)
        first_project = projects.first()
        if "project" not in data and first_project is not None:
            data["project"] = str(first_project.pk)
        form = DashboardFilterForm(data, projects=projects)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Costs: {dict(REPORTS)[report]}",
            "form": form,
            "reports": REPORTS,
            "report": report,
            "query": request.GET.urlencode(),
        }
        if form.is_valid() and form.cleaned_data["project"] is not None:
            context.update(_dashboard_data(report, form.cleaned_data))
        return TemplateResponse(request, "admin/costs/dashboard.html", context)


def _dashboard_data(report: str, f: dict[str, Any]) -> dict[str, Any]:
    project: Project = f["project"]
    window = reports.ReportWindow(
        project=project, start=f["start"], end=f["end"], feature=f["feature"], customer=f["customer"],
        pipeline=f["pipeline"],
    )  # fmt: skip
    if report == "cost-per-outcome":
        group_by: Literal["feature", "customer", "day"] = f.get("group_by") or "feature"
        result = reports.cost_per_outcome(window, group_by=group_by)
        chart = bar_chart([(str(r[group_by]) or "(none)", r["cost_usd"]) for r in result["rows"]])
        return {"result": result, "group_by": group_by, "charts": [("Cost by " + group_by, chart)]}
    if report == "recompute":
        result = reports.recompute(window)
        chart = bar_chart([(r["day"], r["recompute_usd"]) for r in result["rows"]])
        return {"result": result, "charts": [("Recompute spend per day", chart)]}
    if report == "margin":
        by: Literal["customer", "feature"] = "feature" if f.get("group_by") == "feature" else "customer"
        result = reports.margin(window, group_by=by)
        rows = result["rows"]
        chart = bar_chart(
            [(str(r[by]) or "(none)", str(abs(Decimal(r["margin_usd"])))) for r in rows],
            css=["negative" if r["negative"] else "positive" for r in rows],
        )
        return {
            "result": result,
            "group_by": by,
            "charts": [(f"Margin by {by} (red: negative)", chart)],
        }
    if report == "burn-down":
        result = reports.budget_burn_down(project)
        charts = [
            (
                f"{r['budget']} ({r['period_key']}): ${r['spent_usd']} of ${r['limit_usd']}, "
                f"forecast ${r['forecast_usd']}",
                bar_chart([(d["day"], d["cumulative_usd"]) for d in r["daily"]], limit=Decimal(r["limit_usd"])),
            )
            for r in result["rows"]
        ]
        return {"result": result, "charts": charts}
    return {"result": reports.missing_prices(window), "charts": []}


COUNTER_FIELDS = [
    "period_key", "limit_nanos", "settled_nanos", "held_nanos", "soft_alerted_at", "hard_alerted_at", "reconciled_at",
]  # fmt: skip


class BudgetCounterInline(ScopedInlineMixin, admin.TabularInline[BudgetCounter, Budget]):
    model = BudgetCounter
    extra = 0
    can_delete = False
    fields = COUNTER_FIELDS  # type: ignore[assignment]
    readonly_fields = COUNTER_FIELDS
    ordering = ["-period_start"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Budget)
class BudgetAdmin(ProjectScopedAdmin[Budget]):
    list_display = ["name", "project", "scope", "scope_value", "api_key", "period", "limit_usd", "mode", "enabled"]
    list_filter = ["project", "scope", "period", "mode", "enabled"]
    search_fields = ["name", "scope_value", "project__slug"]
    list_select_related = ["project", "api_key"]
    readonly_fields = ["created_at"]
    inlines = [BudgetCounterInline]

    def save_model(self, request: HttpRequest, obj: Budget, form: Any, change: bool) -> None:
        budget_save(budget=obj)


@admin.register(BudgetReservation)
class BudgetReservationAdmin(ReadOnlyAdmin):
    list_display = ["id", "project", "state", "purpose", "estimate_nanos", "actual_nanos", "overrun_nanos",
                    "feature", "customer", "created_at", "expires_at"]  # fmt: skip
    list_filter = ["state", "overrun_reason", "project"]
    search_fields = ["trace_id", "run_id", "feature", "customer", "purpose"]
    list_select_related = ["project"]


@admin.register(Outcome)
class OutcomeAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "project", "kind", "success", "value", "feature", "customer", "trace_id", "run_id"]
    list_filter = ["project", "kind", "success"]
    search_fields = ["client_id", "trace_id", "run_id", "customer", "feature"]
    list_select_related = ["project"]
    date_hierarchy = "occurred_at"

    @admin.display(description="value (USD)")
    def value(self, obj: Outcome) -> str:
        return f"{nanos_to_usd_or_none(obj.value_nanos):.2f}"


@admin.register(RollupDay)
class RollupDayAdmin(ReadOnlyAdmin):
    list_display = ["project", "day", "complete_until", "usage_rows", "computed_at"]
    list_filter = ["project"]
    search_fields = ["project__slug"]
    list_select_related = ["project"]


@admin.register(RollupMark)
class RollupMarkAdmin(ReadOnlyAdmin):
    list_display = ["project", "day", "since", "created_at"]
    list_filter = ["project"]
    search_fields = ["project__slug"]
    list_select_related = ["project"]
