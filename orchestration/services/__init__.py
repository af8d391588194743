"""Orchestration's verbs. ``governed_call`` is the one way anything above ``guardrails`` spends money on a model."""

from orchestration.services.calls import (
    GovernedResult,
    GovernedStream,
    ServedBy,
    governed_call,
    governed_call_stream,
)

__all__ = ["GovernedResult", "GovernedStream", "ServedBy", "governed_call", "governed_call_stream"]
