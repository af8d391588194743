from django.apps import AppConfig
from django.conf import settings


class GuardrailsConfig(AppConfig):
    name = "guardrails"
    verbose_name = "Guardrails"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import hooks
        from guardrails import receivers, services, tasks
        from guardrails.classifier import store
        from guardrails.services.classifier import artifact_from_database

        hooks.subscribe(hooks.REDACT, services.redact_text)
        hooks.subscribe(hooks.PROJECT_CREATED, receivers.project_created)
        # After the costs seeder (order 5), so the demo traffic's model calls are priced.
        hooks.subscribe(hooks.DEMO_SEED_REQUESTED, receivers.demo_seed_requested, order=200)
        # Trained classifier versions are loaded from their database rows (verified by digest).
        store.add_source(artifact_from_database)
        for name, entry in tasks.BEAT_SCHEDULE.items():
            settings.CELERY_BEAT_SCHEDULE.setdefault(name, entry)
