from django.apps import AppConfig
from django.conf import settings
from django.db import connection, transaction


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import (
            celery_signals,  # noqa: F401  (connects the trace-context task hooks)
            degradation,
            dependencies,
            hooks,
            receivers,
            tasks,
        )
        from governance.llm import BREAKER_STATE_CHANGED, PROVIDER_CALL_ATTEMPTED
        from governance.middleware import REQUEST_FINISHED

        # Graceful degradation: a gauge, a log line and one alert per dependency outage.
        degradation.connect_signals()
        for name in (dependencies.REDIS, dependencies.BROKER, dependencies.DATABASE):
            dependencies.dependency(name).retry_interval_s = settings.ARBITER_DEPENDENCY_RETRY_SECONDS
        hooks.subscribe(dependencies.DEPENDENCY_CHANGED, receivers.dependency_changed)
        hooks.subscribe(dependencies.DEPENDENCY_FALLBACK, receivers.dependency_fallback)

        # Transactional hooks (review_decided, project_created) refuse to publish outside a
        # transaction; inside one, every other subscriber runs in a savepoint.
        hooks.set_transaction_support(in_transaction=lambda: connection.in_atomic_block, savepoint=transaction.atomic)

        hooks.subscribe(PROVIDER_CALL_ATTEMPTED, receivers.provider_call_metrics)
        hooks.subscribe(PROVIDER_CALL_ATTEMPTED, receivers.provider_call_span)
        hooks.subscribe(BREAKER_STATE_CHANGED, receivers.breaker_metrics)
        hooks.subscribe(BREAKER_STATE_CHANGED, receivers.breaker_changed)
        hooks.subscribe(hooks.ALERT_RAISED, receivers.alert_raised)
        if settings.ARBITER_REQUEST_SPANS:
            hooks.subscribe(REQUEST_FINISHED, receivers.request_span)

        settings.CELERY_BEAT_SCHEDULE.update(tasks.RETENTION_SWEEP_SCHEDULE)
