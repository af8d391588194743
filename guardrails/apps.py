from typing import Any

from django.apps import AppConfig


class GuardrailsConfig(AppConfig):
    name = "guardrails"
    verbose_name = "Guardrails"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance.demo import register_demo_seeder
        from governance.redaction import register_redactor
        from governance.signals import project_created
        from guardrails import services

        register_redactor(services.redact_text)
        # After the costs seeder, so the demo traffic's model calls are priced.
        register_demo_seeder("guardrails", _seed_demo, order=200)
        project_created.connect(_give_new_project_the_default_policy, dispatch_uid="guardrails.default_policy")


def _seed_demo(project: Any) -> None:
    from guardrails.services import demo_seed

    demo_seed(project=project)


def _give_new_project_the_default_policy(sender: Any, project: Any, **kwargs: Any) -> None:
    from guardrails.services import policy_default_ensure

    policy_default_ensure(project=project)
