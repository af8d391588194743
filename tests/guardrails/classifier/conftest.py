from __future__ import annotations

import json

import pytest

from guardrails.classifier import artifact
from tests.guardrails.classifier.fixtures import small_set


@pytest.fixture(autouse=True)
def _fresh_artifact_cache():
    artifact.clear_cache()
    yield
    artifact.clear_cache()


@pytest.fixture
def fixture_jsonl() -> bytes:
    return "\n".join(json.dumps(e.to_dict()) for e in small_set()).encode()
