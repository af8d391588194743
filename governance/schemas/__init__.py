"""Published JSON Schemas (kept in the repo, served by the API)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent
DECISION_ENVELOPE_V1 = "decision-envelope.v1.json"


@cache
def load_schema(name: str = DECISION_ENVELOPE_V1) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text())
    return schema
