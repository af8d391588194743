from django.urls import URLPattern, URLResolver, path

from costs.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("usage", views.UsageIngestApi.as_view(), name="costs-usage"),
    path("outcomes", views.OutcomeIngestApi.as_view(), name="costs-outcomes"),
    path("reports/cost-per-outcome", views.CostPerOutcomeReportApi.as_view(), name="costs-report-cost-per-outcome"),
    path("reports/recompute", views.RecomputeReportApi.as_view(), name="costs-report-recompute"),
    path("reports/margin", views.MarginReportApi.as_view(), name="costs-report-margin"),
    path("reports/budget-burn-down", views.BudgetBurnDownReportApi.as_view(), name="costs-report-burn-down"),
    path("reports/missing-prices", views.MissingPricesReportApi.as_view(), name="costs-report-missing-prices"),
]
