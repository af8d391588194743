"""Receivers of the core's hooks, subscribed in ``GuardrailsConfig.ready()``: one line each."""

from __future__ import annotations

from governance.hooks import DemoSeedRequested, ProjectCreated
from governance.services.projects import project_get
from guardrails.services import demo_seed, policy_default_ensure


def project_created(event: ProjectCreated) -> None:
    policy_default_ensure(project=project_get(project_id=event.project_id))


def demo_seed_requested(event: DemoSeedRequested) -> None:
    demo_seed(project=project_get(project_id=event.project_id))
