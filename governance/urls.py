"""Root URLconf. Apps are wired by dotted string (wiring, not an import across layers)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from governance import health, metrics

admin.site.site_header = "Arbiter"
admin.site.site_title = "Arbiter admin"
admin.site.index_title = "Governance control plane"

api_v1 = [
    path("", include("governance.api.urls")),
    path("", include("costs.api.urls")),
    path("", include("guardrails.api.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler404 = "governance.errors.handler404"
handler500 = "governance.errors.handler500"
