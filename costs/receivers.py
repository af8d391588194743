"""Receivers of the core's hooks, subscribed in ``CostsConfig.ready()``: one line each."""

from __future__ import annotations

from costs.services.demo import demo_seed_costs
from costs.services.usage import usage_record_append
from governance.hooks import DemoSeedRequested
from governance.llm import UsageEvent
from governance.services.projects import project_get


def provider_call_attempted(event: UsageEvent) -> None:
    usage_record_append(event=event)


def demo_seed_requested(event: DemoSeedRequested) -> None:
    demo_seed_costs(project_get(project_id=event.project_id))
