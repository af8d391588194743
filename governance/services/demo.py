"""Seeding the demo project that ``make run`` shows."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from governance import hooks
from governance.choices import ContentStorage, ProviderKind
from governance.hooks import DEMO_SEED_REQUESTED, DemoSeedRequested
from governance.models import ApiKey, ModelEndpoint, Project, Provider
from governance.services.api_keys import IssuedKey, api_key_create, api_key_revoke
from governance.services.projects import project_get_or_create

DEMO_SLUG = "demo"
DEMO_KEY_NAME = "demo (make run)"


@dataclass
class DemoSeedResult:
    project: Project
    created: bool
    seeded: list[str] = field(default_factory=list)
    issued_key: IssuedKey | None = None


def offline_provider_ensure() -> Provider:
    """The built-in simulator and its models: always there, so the demo needs no network or key."""
    provider, _ = Provider.objects.get_or_create(
        name="offline",
        defaults={"kind": ProviderKind.OFFLINE, "offline_config": {"mode": "echo"}},
    )
    judge, _ = Provider.objects.get_or_create(
        name="offline-judge",
        defaults={
            "kind": ProviderKind.OFFLINE,
            "offline_config": {
                "mode": "json_verdict",
                "unsafe_keywords": ["ignore previous instructions", "system prompt", "jailbreak"],
            },
        },
    )
    for p, names in ((provider, ["sim-small", "sim-large"]), (judge, ["sim-judge"])):
        for name in names:
            ModelEndpoint.objects.get_or_create(provider=p, name=name, defaults={"context_window": 128_000})
    return provider


def demo_seed(*, issue_key: bool = False) -> DemoSeedResult:
    """Create (or complete) the demo project; idempotent.

    With ``issue_key`` the previous make-run key is revoked and a fresh one issued, since a
    stored key's secret cannot be shown again.
    """
    with transaction.atomic():
        project, created = project_get_or_create(slug=DEMO_SLUG, name="Demo")
        if created:
            Project.objects.filter(pk=project.pk).update(content_storage=ContentStorage.REDACTED, retention_days=90)
            project.refresh_from_db()
        offline_provider_ensure()
    result = DemoSeedResult(project=project, created=created)
    with transaction.atomic():
        hooks.publish(DEMO_SEED_REQUESTED, DemoSeedRequested(project_id=project.pk, slug=project.slug))
    result.seeded = [sub.name.split(".")[0] for sub in DEMO_SEED_REQUESTED.subscriptions]  # the apps
    if issue_key:
        for old in ApiKey.objects.filter(project=project, name=DEMO_KEY_NAME, revoked_at__isnull=True):
            api_key_revoke(api_key=old)
        result.issued_key = api_key_create(project=project, name=DEMO_KEY_NAME, scopes="all")
    return result
