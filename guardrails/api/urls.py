from django.urls import path

from guardrails.api import views

urlpatterns = [
    path("guard/check", views.GuardCheckApi.as_view(), name="guard-check"),
    path("guard/check/batch", views.GuardCheckBatchApi.as_view(), name="guard-check-batch"),
    path(
        "guard/litellm/beta/litellm_basic_guardrail_api",
        views.LiteLlmGuardrailApi.as_view(),
        name="guard-litellm",
    ),
]
