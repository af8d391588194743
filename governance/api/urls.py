from django.urls import path

from governance.api import provenance, views

urlpatterns = [
    path("whoami", views.WhoAmIApi.as_view(), name="whoami"),
    path("schemas/decision-envelope", provenance.DecisionEnvelopeSchemaApi.as_view(), name="envelope-schema"),
    path("envelopes", provenance.EnvelopeListCreateApi.as_view(), name="envelopes"),
    path("envelopes/<uuid:envelope_id>", provenance.EnvelopeDetailApi.as_view(), name="envelope-detail"),
    path("envelopes/<uuid:envelope_id>/reviews", provenance.EnvelopeReviewCreateApi.as_view(), name="envelope-reviews"),
    path("traces/<str:trace_id>", provenance.TraceDetailApi.as_view(), name="trace-detail"),
    path("otlp/v1/traces", provenance.OtlpTracesApi.as_view(), name="otlp-traces"),
]
