from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Graceful degradation: log, metric and one alert per dependency outage.
        from governance import (
            celery_signals,  # noqa: F401  (connects the trace-context task hooks)
            degradation,
            dependencies,
            metrics,
        )
        from governance.llm import on_breaker_state_change, on_model_call
        from governance.services.models_gateway import breaker_state_changed

        degradation.connect()
        for name in (dependencies.REDIS, dependencies.BROKER, dependencies.DATABASE):
            dependencies.dependency(name).retry_interval_s = settings.ARBITER_DEPENDENCY_RETRY_SECONDS

        on_model_call(metrics.record_model_call)
        on_breaker_state_change(metrics.record_breaker_change)
        on_breaker_state_change(breaker_state_changed)

        # Provenance: spans for model calls and API requests, role permissions, retention.
        from governance import tasks
        from governance.middleware import register_request_observer
        from governance.services import spans

        on_model_call(spans.span_record_model_call)
        if settings.ARBITER_REQUEST_SPANS:
            register_request_observer(spans.span_record_request)
        post_migrate.connect(_sync_roles, dispatch_uid="governance.roles_sync")
        settings.CELERY_BEAT_SCHEDULE.update(tasks.RETENTION_SWEEP_SCHEDULE)


def _sync_roles(**kwargs: Any) -> None:
    from governance.services.roles import roles_sync

    roles_sync()
