"""Content negotiation: an unknown or empty ``?format=`` is a 406 (as an unsatisfiable ``Accept`` is),
not a 404 or the default format."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class ApiContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> Any:
        name = self.settings.URL_FORMAT_OVERRIDE
        if name and name in request.query_params and not request.query_params[name]:
            # DRF ignores "?format=" and answers in its default; it names no format, so it is refused.
            raise NotAcceptable("The format parameter is empty.")
        return super().select_renderer(request, renderers, format_suffix)

    def filter_renderers(self, renderers: Iterable[BaseRenderer], format: str) -> list[BaseRenderer]:
        renderers = list(renderers)
        try:
            return super().filter_renderers(renderers, format)
        except Http404 as exc:
            formats = ", ".join(sorted({str(r.format) for r in renderers}))
            raise NotAcceptable(f"Unknown format {format!r}; this endpoint renders {formats}.") from exc
