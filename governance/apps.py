from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import (
            celery_signals,  # noqa: F401  (connects the trace-context task hooks)
            metrics,
        )
        from governance.llm import on_breaker_state_change, on_model_call
        from governance.services.models_gateway import breaker_state_changed

        on_model_call(metrics.record_model_call)
        on_breaker_state_change(metrics.record_breaker_change)
        on_breaker_state_change(breaker_state_changed)
