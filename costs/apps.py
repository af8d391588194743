from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings

BEAT_SCHEDULE = {
    "costs.rollup_recent": {"task": "costs.rollup_recent", "schedule": timedelta(minutes=5)},
    "costs.rollup_daily": {"task": "costs.rollup_daily", "schedule": timedelta(hours=1)},
    "costs.release_expired_holds": {"task": "costs.release_expired_holds", "schedule": timedelta(minutes=1)},
    "costs.reconcile_budgets": {"task": "costs.reconcile_budgets", "schedule": timedelta(minutes=15)},
}


class CostsConfig(AppConfig):
    name = "costs"
    verbose_name = "Costs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from costs import receivers
        from governance import hooks
        from governance.llm import PROVIDER_CALL_ATTEMPTED

        hooks.subscribe(PROVIDER_CALL_ATTEMPTED, receivers.provider_call_attempted)
        # Early: other seeders make demo model calls, which should find their prices.
        hooks.subscribe(hooks.DEMO_SEED_REQUESTED, receivers.demo_seed_requested, order=5)
        for name, entry in BEAT_SCHEDULE.items():
            settings.CELERY_BEAT_SCHEDULE.setdefault(name, entry)
