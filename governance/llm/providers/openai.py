"""OpenAI chat-completions wire format (also vLLM, Ollama, LiteLLM, Azure via a gateway)."""

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

CHAT_PATH = "/chat/completions"


def build_chat_call(request: ChatRequest, api_key: str | None) -> HttpCall:
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend({"role": m.role, "content": m.content} for m in request.messages)
    # ``max_tokens`` rather than ``max_completion_tokens``: it is what every
    # OpenAI-compatible server understands.
    payload: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "max_tokens": request.max_tokens,
    }
    if request.temperature is not None:
        payload["temperature"] = request.temperature
    if request.json_response:
        payload["response_format"] = {"type": "json_object"}
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    return HttpCall(CHAT_PATH, headers, payload)


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Normalise OpenAI usage: ``prompt_tokens`` *includes* the cached tokens."""
    if usage is None:
        return Usage()
    usage = as_mapping(usage, "usage")
    prompt = token_count(usage.get("prompt_tokens"), "usage.prompt_tokens")
    details = usage.get("prompt_tokens_details")
    cached = 0
    if details is not None:
        cached = token_count(as_mapping(details, "prompt_tokens_details").get("cached_tokens"), "cached_tokens")
    return Usage(
        # max() guards against servers that report cached > prompt; the ledger
        # must never see a negative count.
        uncached_input_tokens=max(0, prompt - cached),
        cache_read_tokens=min(cached, prompt),
        cache_write_tokens=0,
        output_tokens=token_count(usage.get("completion_tokens"), "usage.completion_tokens"),
    )


def parse_chat_response(body: Any) -> ProviderReply:
    data = as_mapping(body, "response")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ProviderResponseError("response has no choices")
    choice = as_mapping(choices[0], "choices[0]")
    message = as_mapping(choice.get("message"), "choices[0].message")
    content = message.get("content")
    if content is None:
        # A refusal or a tool call: no text, which the caller sees via finish_reason.
        content = ""
    if not isinstance(content, str):
        raise ProviderResponseError("choices[0].message.content is not a string")
    finish = choice.get("finish_reason")
    model = data.get("model")
    return ProviderReply(
        text=content,
        model=model if isinstance(model, str) else "",
        usage=parse_usage(data.get("usage")),
        finish_reason=finish if isinstance(finish, str) else None,
    )


def build_stream_call(request: ChatRequest, api_key: str | None) -> HttpCall:
    """The chat call with ``stream: true``; ``include_usage`` asks for a last chunk with the token counts."""
    call = build_chat_call(request, api_key)
    payload = {**call.payload, "stream": True, "stream_options": {"include_usage": True}}
    return HttpCall(call.path, call.headers, payload)


def parse_stream_event(event: SseEvent, state: StreamAccumulator) -> str:
    """Apply one ``chat.completion.chunk`` to ``state``; return its text (often empty)."""
    if event.data.strip() == "[DONE]":
        state.done = True
        return ""
    try:
        body = json.loads(event.data)
    except ValueError as exc:
        raise ProviderResponseError("stream chunk is not JSON") from exc
    data = as_mapping(body, "stream chunk")
    if "error" in data:
        raise stream_error(data, "openai")
    model = data.get("model")
    if isinstance(model, str) and model:
        state.model = model
    if data.get("usage") is not None:
        state.usage = parse_usage(data.get("usage"))
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        return ""
    choice = as_mapping(choices[0], "choices[0]")
    finish = choice.get("finish_reason")
    if isinstance(finish, str):
        state.finish_reason = finish
    delta = choice.get("delta")
    if delta is None:
        return ""
    content = as_mapping(delta, "choices[0].delta").get("content")
    if content is None:
        return ""
    if not isinstance(content, str):
        raise ProviderResponseError("choices[0].delta.content is not a string")
    return content
