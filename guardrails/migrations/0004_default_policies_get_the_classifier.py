"""Give every existing ``default`` policy the shipped prompt-injection classifier.

New projects get it from `DEFAULT_POLICY_RULES`; this adds the same rule to default
policies created before the classifier existed, and publishes the next policy version so the
change is in the policy's history like any other. A policy that already has a
``local_classifier`` rule is left alone.
"""

from django.db import migrations
from django.db.models import Max
from django.utils import timezone

RULE_NAME = "Prompt-injection classifier"


def _rule_dict(rule):
    return {
        "id": rule.pk,
        "name": rule.name,
        "kind": rule.kind,
        "stage": rule.stage,
        "action": rule.action,
        "severity": rule.severity,
        "config": rule.config or {},
        "enabled": rule.enabled,
        "fail_mode": rule.fail_mode or None,
    }


def add_classifier(apps, schema_editor):
    from guardrails.classifier.shipped import shipped_rule_config

    GuardPolicy = apps.get_model("guardrails", "GuardPolicy")
    GuardRule = apps.get_model("guardrails", "GuardRule")
    GuardPolicyVersion = apps.get_model("guardrails", "GuardPolicyVersion")
    for policy in GuardPolicy.objects.filter(slug="default"):
        rules = GuardRule.objects.filter(policy=policy)
        if rules.filter(kind="local_classifier").exists():
            continue
        name = RULE_NAME if not rules.filter(name=RULE_NAME).exists() else f"{RULE_NAME} (shipped)"
        last = rules.aggregate(n=Max("position"))["n"]
        GuardRule.objects.create(
            policy=policy,
            name=name,
            kind="local_classifier",
            stage="input",
            action="block",
            severity="high",
            config=shipped_rule_config(),
            enabled=True,
            fail_mode="",
            position=(last or 0) + 1,
        )
        version = policy.version + 1
        spec = {
            "fail_mode": policy.fail_mode,
            "max_text_chars": policy.max_text_chars,
            "rules": [_rule_dict(r) for r in GuardRule.objects.filter(policy=policy).order_by("position", "id")],
        }
        GuardPolicy.objects.filter(pk=policy.pk).update(version=version, updated_at=timezone.now())
        GuardPolicyVersion.objects.create(
            policy=policy, version=version, spec=spec, change_note="added the shipped prompt-injection classifier"
        )


class Migration(migrations.Migration):
    dependencies = [("guardrails", "0003_classifier")]

    operations = [migrations.RunPython(add_classifier, migrations.RunPython.noop)]
