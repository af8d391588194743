"""Receivers of the core's hooks, subscribed in ``OrchestrationConfig.ready()``: one line each."""

from __future__ import annotations

from governance.hooks import DemoSeedRequested
from governance.services.projects import project_get
from orchestration.services.demo import demo_seed


def demo_seed_requested(event: DemoSeedRequested) -> None:
    demo_seed(project=project_get(project_id=event.project_id))
