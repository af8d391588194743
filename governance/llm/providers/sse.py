"""Server-sent events (the WHATWG ``text/event-stream`` format), as both providers stream.

A line ``field: value`` sets a field of the event being built; ``data`` lines accumulate
(joined with newlines); a blank line dispatches the event; a line starting with ``:`` is a
comment (keep-alives). Lines may end in CR, LF or CRLF (httpx's ``iter_lines`` splits them).

Bounded: a single event's data may not exceed ``MAX_EVENT_CHARS`` (a provider sending an
endless line must not grow memory without limit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from governance.llm.errors import ProviderResponseError

MAX_EVENT_CHARS = 1_000_000


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str


def iter_sse(lines: Iterable[str]) -> Iterator[SseEvent]:
    """Events from the stream's lines (without their line endings)."""
    event = ""
    data: list[str] = []
    size = 0
    for line in lines:
        if line == "":
            if data:
                yield SseEvent(event or "message", "\n".join(data))
            event, data, size = "", [], 0
            continue
        if line.startswith(":"):
            continue
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            size += len(value) + 1
            if size > MAX_EVENT_CHARS:
                raise ProviderResponseError("stream event larger than the bound")
            data.append(value)
        elif name == "event":
            event = value
        # "id" and "retry" are for browsers reconnecting; a model stream is not resumable.
    if data:
        yield SseEvent(event or "message", "\n".join(data))
