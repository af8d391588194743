"""Guard policies and their rules: create, save, delete, and publish the next version.

Every change publishes: the policy row is locked, its rules are validated against their
kinds and snapshotted as a new `GuardPolicyVersion`, and checks pick the new version up on
their next call (the compiled-policy cache is keyed by policy id and version).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.errors import ArbiterError
from governance.models import Project
from guardrails.engine import DEFAULT_POLICY_RULES, DEFAULT_POLICY_SLUG, validate_rule
from guardrails.models import GuardPolicy, GuardPolicyVersion, GuardRule

__all__ = [
    "policy_create",
    "policy_default_ensure",
    "policy_publish",
    "policy_save",
    "rule_delete",
    "rule_save",
]


def _rule_spec_dict(rule: GuardRule) -> dict[str, Any]:
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


@transaction.atomic
def policy_publish(*, policy: GuardPolicy, user: AbstractBaseUser | None = None, note: str = "") -> GuardPolicyVersion:
    """Snapshot the policy's current rules as a new version; callers see it on their next check.

    The policy row is locked so concurrent edits publish one version each, in order.
    """
    locked = GuardPolicy.objects.select_for_update().get(pk=policy.pk)
    rules = list(locked.rules.order_by("position", "id"))
    for rule in rules:
        errors = validate_rule(rule.kind, rule.config or {})
        if errors:
            raise ArbiterError("invalid_rule", f"Rule {rule.name!r} is not valid: {'; '.join(errors)}")
    version = locked.version + 1
    spec = {
        "fail_mode": locked.fail_mode,
        "max_text_chars": locked.max_text_chars,
        "rules": [_rule_spec_dict(rule) for rule in rules],
    }
    GuardPolicy.objects.filter(pk=locked.pk).update(version=version, updated_at=timezone.now())
    policy.version = version
    return GuardPolicyVersion.objects.create(
        policy=locked,
        version=version,
        spec=spec,
        published_by_id=user.pk if user is not None else None,
        change_note=note[:300],
    )


def _rule_from_dict(policy: GuardPolicy, data: Mapping[str, Any], position: int) -> GuardRule:
    rule = GuardRule(
        policy=policy,
        name=data["name"],
        stage=data.get("stage", "input"),
        kind=data["kind"],
        config=dict(data.get("config") or {}),
        action=data.get("action", "block"),
        severity=data.get("severity", "medium"),
        enabled=data.get("enabled", True),
        fail_mode=data.get("fail_mode") or "",
        position=position,
    )
    try:
        rule.full_clean(exclude=["policy"])
    except ValidationError as exc:
        raise ArbiterError("invalid_rule", f"Rule {rule.name!r} is not valid.", detail=exc.message_dict) from exc
    return rule


@transaction.atomic
def policy_create(
    *,
    project: Project,
    slug: str,
    name: str,
    description: str = "",
    fail_mode: str = "open",
    rules: Sequence[Mapping[str, Any]] = (),
    user: AbstractBaseUser | None = None,
) -> GuardPolicy:
    """Create a policy with its rules and publish it as version 1."""
    policy = GuardPolicy(project=project, slug=slug, name=name, description=description, fail_mode=fail_mode)
    try:
        policy.full_clean(validate_unique=False)
        with transaction.atomic():
            policy.save()
    except ValidationError as exc:
        raise ArbiterError("invalid_policy", "The policy is not valid.", detail=exc.message_dict) from exc
    except IntegrityError as exc:
        raise ArbiterError("policy_exists", f"Project {project.slug!r} already has a policy {slug!r}.") from exc
    for position, data in enumerate(rules):
        rule = _rule_from_dict(policy, data, position)
        rule.save()
    policy_publish(policy=policy, user=user, note="created")
    return policy


def policy_default_ensure(*, project: Project) -> GuardPolicy:
    """The ``default`` policy with the engine's day-one rules (idempotent: an existing one is kept)."""
    existing = GuardPolicy.objects.filter(project=project, slug=DEFAULT_POLICY_SLUG).first()
    if existing is not None:
        return existing
    return policy_create(
        project=project,
        slug=DEFAULT_POLICY_SLUG,
        name="Default protection",
        description=(
            "Blocks blatant prompt-injection and jailbreak phrasings (obfuscated and multilingual), "
            "flags secrets in inputs, redacts PII and secrets from outputs. Created for every new project."
        ),
        rules=DEFAULT_POLICY_RULES,
    )


def policy_save(*, policy: GuardPolicy, user: AbstractBaseUser | None = None) -> GuardPolicy:
    """Save a policy's own settings (fail mode, window size, text) and publish the next version."""
    with transaction.atomic():
        try:
            policy.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise ArbiterError("invalid_policy", "The policy is not valid.", detail=exc.message_dict) from exc
        policy.save()
        policy_publish(policy=policy, user=user, note="policy settings changed")
    return policy


def rule_save(*, rule: GuardRule, user: AbstractBaseUser | None = None) -> GuardRule:
    """Validate and save a rule, then publish its policy's next version."""
    with transaction.atomic():
        try:
            rule.full_clean()
        except ValidationError as exc:
            raise ArbiterError("invalid_rule", f"Rule {rule.name!r} is not valid.", detail=exc.message_dict) from exc
        rule.save()
        policy_publish(policy=rule.policy, user=user, note=f"rule {rule.name!r} saved")
    return rule


def rule_delete(*, rule: GuardRule, user: AbstractBaseUser | None = None) -> None:
    with transaction.atomic():
        policy = rule.policy
        name = rule.name
        rule.delete()
        policy_publish(policy=policy, user=user, note=f"rule {name!r} deleted")
