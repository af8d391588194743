"""Fixtures for provenance tests: projects with each content setting, envelope factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from governance import hooks
from governance.models import DecisionEnvelope, Project
from governance.services.envelopes import envelope_append


@pytest.fixture
def raw_project(alice_project: Project) -> Project:
    Project.objects.filter(pk=alice_project.pk).update(content_storage="raw")
    alice_project.refresh_from_db()
    return alice_project


@pytest.fixture
def make_envelope(alice_project: Project) -> Callable[..., DecisionEnvelope]:
    def make(project: Project | None = None, **kwargs: Any) -> DecisionEnvelope:
        fields: dict[str, Any] = {"decision_type": "external", "outcome": "allowed", "input": "in", "output": "out"}
        fields.update(kwargs)
        return envelope_append(project=project or alice_project, **fields)

    return make


@pytest.fixture(autouse=True)
def _no_redactor() -> Iterator[None]:
    # The guardrails app subscribes its engine in ready(); these tests choose their own.
    with hooks.isolated(hooks.REDACT):
        yield


def redact_digits(text: str) -> str:
    return "".join("*" if c.isdigit() else c for c in text)


@pytest.fixture
def star_redactor() -> Iterator[Callable[[str], str]]:
    """A stand-in for the guardrails engine: hides every digit."""
    with hooks.isolated(hooks.REDACT):
        hooks.subscribe(hooks.REDACT, redact_digits)
        yield redact_digits
