"""CSV for the reports: ``?format=csv`` or ``Accept: text/csv`` renders a report's ``rows``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer


class ReportCsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if not isinstance(data, dict):
            return b""
        # Errors keep the one error shape, as a one-row CSV.
        rows: list[dict[str, Any]] = data.get("rows", [data])
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: json.dumps(v, default=str) if isinstance(v, list | dict) else ("" if v is None else v)
                    for k, v in row.items()
                }
            )
        return out.getvalue().encode(self.charset)
