from typing import Any

from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "orchestration"
    verbose_name = "Orchestration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance.demo import register_demo_seeder

        # After costs (prices) and guardrails (policies): the demo alias is priced and guarded.
        register_demo_seeder("orchestration", _seed_demo, order=300)


def _seed_demo(project: Any) -> None:
    from orchestration.services.demo import demo_seed

    demo_seed(project=project)
