"""Receivers of the core's hooks, connected in ``CostsConfig.ready()``: one line each."""

from __future__ import annotations

from costs.services.usage import usage_record_from_event
from governance.llm import UsageEvent


def model_call_finished(event: UsageEvent) -> None:
    usage_record_from_event(event)
