"""The one JSON parser of the API: DRF's, with the bounds of :mod:`governance.jsonlimits`.

DRF's ``JSONParser`` lets a body nested 10,000 deep escape as a ``RecursionError`` (a 500) and
passes NUL and lone surrogates through to code that cannot store or hash them. This parser
answers each with a 400 in the error shape, naming the JSON pointer of the problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from governance import jsonlimits
from governance.errors import ArbiterError


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_bounded_json(raw: bytes, *, encoding: str = "utf-8") -> Any:
    """Decode a JSON body within :data:`jsonlimits.BODY`; ``ArbiterError``/``ParseError`` otherwise."""
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ParseError(f"The body is not valid {encoding}: {exc}") from exc
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as exc:
        limit = jsonlimits.BODY.max_depth
        message = f"JSON nested more than {limit} levels deep is not accepted."
        raise ArbiterError("json_too_deep", message, detail={"path": "", "max_depth": limit}) from exc
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from exc
    check_strings = jsonlimits.body_may_hold_forbidden_characters(raw)
    problem = jsonlimits.json_problem(data, jsonlimits.BODY, check_strings=check_strings)
    if problem is not None:
        raise ArbiterError(problem.code, problem.message, detail={"path": problem.path})
    return data


class BoundedJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        return parse_bounded_json(raw, encoding=encoding)
