"""Anthropic Messages API wire format."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from governance.llm.errors import ProviderResponseError
from governance.llm.providers.base import (
    HttpCall,
    ProviderReply,
    StreamAccumulator,
    as_mapping,
    stream_error,
    token_count,
)
from governance.llm.providers.sse import SseEvent
from governance.llm.types import ChatRequest, Usage

MESSAGES_PATH = "/v1/messages"
API_VERSION = "2023-06-01"
# The Messages API has no JSON mode; an explicit instruction is the documented
# way to get a bare JSON object, and it keeps the reply text untouched
# (assistant prefill would require gluing the prefix back on).
JSON_INSTRUCTION = "Respond with a single JSON object and nothing else."


def build_chat_call(request: ChatRequest, api_key: str | None) -> HttpCall:
    # Anthropic takes the system prompt as a top-level field, not a message.
    system_parts = [request.system] if request.system else []
    system_parts.extend(m.content for m in request.messages if m.role == "system")
    if request.json_response:
        system_parts.append(JSON_INSTRUCTION)
    payload: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages if m.role != "system"],
    }
    if system_parts:
        payload["system"] = "\n\n".join(system_parts)
    if request.temperature is not None:
        payload["temperature"] = request.temperature
    headers = {"anthropic-version": API_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return HttpCall(MESSAGES_PATH, headers, payload)


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Normalise Anthropic usage: ``input_tokens`` *excludes* cache reads and writes."""
    if usage is None:
        return Usage()
    usage = as_mapping(usage, "usage")
    return Usage(
        uncached_input_tokens=token_count(usage.get("input_tokens"), "usage.input_tokens"),
        cache_read_tokens=token_count(usage.get("cache_read_input_tokens"), "usage.cache_read_input_tokens"),
        cache_write_tokens=token_count(usage.get("cache_creation_input_tokens"), "usage.cache_creation_input_tokens"),
        output_tokens=token_count(usage.get("output_tokens"), "usage.output_tokens"),
    )


def parse_chat_response(body: Any) -> ProviderReply:
    data = as_mapping(body, "response")
    blocks = data.get("content")
    if not isinstance(blocks, list):
        raise ProviderResponseError("response has no content blocks")
    texts: list[str] = []
    for block in blocks:
        block = as_mapping(block, "content block")
        if block.get("type") == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise ProviderResponseError("text block without text")
            texts.append(text)
    stop = data.get("stop_reason")
    model = data.get("model")
    return ProviderReply(
        text="".join(texts),
        model=model if isinstance(model, str) else "",
        usage=parse_usage(data.get("usage")),
        finish_reason=stop if isinstance(stop, str) else None,
    )


def build_stream_call(request: ChatRequest, api_key: str | None) -> HttpCall:
    call = build_chat_call(request, api_key)
    return HttpCall(call.path, call.headers, {**call.payload, "stream": True})


def _merge_usage(previous: Usage | None, update: Usage) -> Usage:
    # message_start carries the input counts, message_delta the (cumulative) output count and,
    # on newer API versions, the input counts again: keep the largest value of each bucket.
    if previous is None:
        return update
    return Usage(
        uncached_input_tokens=max(previous.uncached_input_tokens, update.uncached_input_tokens),
        cache_read_tokens=max(previous.cache_read_tokens, update.cache_read_tokens),
        cache_write_tokens=max(previous.cache_write_tokens, update.cache_write_tokens),
        output_tokens=max(previous.output_tokens, update.output_tokens),
    )


def parse_stream_event(event: SseEvent, state: StreamAccumulator) -> str:
    """Apply one Messages stream event to ``state``; return its text (often empty)."""
    try:
        body = json.loads(event.data)
    except ValueError as exc:
        raise ProviderResponseError("stream event is not JSON") from exc
    data = as_mapping(body, "stream event")
    kind = data.get("type") or event.event
    if kind == "error":
        raise stream_error(data, "anthropic")
    if kind == "message_start":
        message = as_mapping(data.get("message"), "message_start.message")
        model = message.get("model")
        if isinstance(model, str):
            state.model = model
        if message.get("usage") is not None:
            state.usage = _merge_usage(state.usage, parse_usage(message.get("usage")))
        return ""
    if kind == "content_block_delta":
        delta = as_mapping(data.get("delta"), "content_block_delta.delta")
        if delta.get("type") != "text_delta":
            return ""  # tool input JSON, thinking: not answer text
        text = delta.get("text")
        if not isinstance(text, str):
            raise ProviderResponseError("text_delta without text")
        return text
    if kind == "message_delta":
        change = data.get("delta")
        if isinstance(change, Mapping) and isinstance(change.get("stop_reason"), str):
            state.finish_reason = change["stop_reason"]
        if data.get("usage") is not None:
            state.usage = _merge_usage(state.usage, parse_usage(data.get("usage")))
        return ""
    if kind == "message_stop":
        state.done = True
    return ""
