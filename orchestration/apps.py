from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "orchestration"
    verbose_name = "Orchestration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import hooks
        from orchestration import receivers

        # After costs (prices, order 5) and guardrails (policies, order 200): the demo alias is priced and guarded.
        hooks.subscribe(hooks.DEMO_SEED_REQUESTED, receivers.demo_seed_requested, order=300)
