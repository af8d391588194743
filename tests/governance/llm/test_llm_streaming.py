"""Streaming chat calls over real HTTP (OpenAI and Anthropic SSE), and the offline simulator's stream."""

from __future__ import annotations

import json
import threading
import time

import pytest

from governance.llm import BreakerOpenError, LlmClient, ProviderHTTPError, Usage
from governance.llm.breaker import BreakerState
from governance.llm.errors import ProviderConnectionError, ProviderResponseError
from governance.llm.providers.sse import SseEvent, iter_sse
from tests.governance.llm.factories import (
    FAST_BREAKER,
    NO_RETRY,
    anthropic_provider,
    chat,
    offline_provider,
    openai_provider,
)
from tests.support.fake_provider import FakeProviderServer, anthropic_stream, openai_stream, sse


def collect(stream) -> list[str]:
    return list(stream)


def drain(stream, into: list[str]) -> None:
    for delta in stream:
        into.append(delta)


def test_sse_parser_follows_the_format():
    lines = [": keep-alive", "event: a", "data: one", "data:two", "", "", 'data: {"x": 1}', "id: 7", "", "data: tail"]
    assert list(iter_sse(lines)) == [
        SseEvent("a", "one\ntwo"),
        SseEvent("message", '{"x": 1}'),
        SseEvent("message", "tail"),
    ]


def test_openai_stream_yields_deltas_and_the_final_usage(client: LlmClient, fake_provider: FakeProviderServer, events):
    fake_provider.enqueue(stream=openai_stream("Hello there, world", chunk_chars=5, prompt_tokens=30,
                                               completion_tokens=4, cached_tokens=10, model="gpt-snap"))  # fmt: skip
    stream = client.stream(openai_provider(fake_provider.openai_base_url), chat())
    assert collect(stream) == ["Hello", " ther", "e, wo", "rld"]
    result = stream.result
    assert result is not None
    assert result.text == "Hello there, world"
    assert result.model == "gpt-snap"
    assert result.usage == Usage(uncached_input_tokens=20, cache_read_tokens=10, output_tokens=4)
    assert result.finish_reason == "stop"
    sent = fake_provider.requests[0].json
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert fake_provider.requests[0].headers["accept"] == "text/event-stream"
    assert [(e.status, e.usage.output_tokens) for e in events] == [("ok", 4)]


def test_anthropic_stream_yields_text_deltas_and_merges_usage(client, fake_provider, events):
    fake_provider.enqueue(stream=anthropic_stream("Bonjour tout le monde", chunk_chars=8, input_tokens=40,
                                                  output_tokens=6, stop_reason="end_turn"))  # fmt: skip
    stream = client.stream(anthropic_provider(fake_provider.url), chat())
    assert "".join(stream) == "Bonjour tout le monde"
    assert stream.result is not None
    assert stream.result.usage == Usage(uncached_input_tokens=40, output_tokens=6)
    assert stream.result.finish_reason == "end_turn"
    assert fake_provider.requests[0].path == "/v1/messages"
    assert fake_provider.requests[0].json["stream"] is True
    assert events[-1].status == "ok"


def test_deltas_arrive_before_the_stream_ends(client, fake_provider):
    fake_provider.enqueue(stream=openai_stream("abcdefgh", chunk_chars=2), stream_delay=0.15)
    stream = client.stream(openai_provider(fake_provider.openai_base_url), chat())
    started = time.perf_counter()
    first = next(stream)
    first_after = time.perf_counter() - started
    rest = "".join(stream)
    total = time.perf_counter() - started
    assert first + rest == "abcdefgh"
    # 8 events after the first, 0.15 s apart: the first delta is read long before the last.
    assert first_after < total / 2


def test_an_error_status_before_the_stream_is_retried(client, fake_provider, events, sleeps):
    fake_provider.enqueue(status=503, headers={"Retry-After": "1"})
    fake_provider.enqueue(stream=openai_stream("ok then"))
    stream = client.stream(openai_provider(fake_provider.openai_base_url), chat())
    assert "".join(stream) == "ok then"
    assert stream.result.attempts == 2
    assert sleeps.calls == [1.0]
    assert [e.status for e in events] == ["retry", "ok"]
    assert events[0].usage == Usage()


def test_an_error_event_before_the_first_text_is_retried(client, fake_provider, events):
    overloaded = [sse({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}, "error")]
    fake_provider.enqueue(stream=overloaded)
    fake_provider.enqueue(stream=anthropic_stream("second try"))
    stream = client.stream(anthropic_provider(fake_provider.url), chat())
    assert "".join(stream) == "second try"
    assert [e.status for e in events] == ["retry", "ok"]
    assert events[0].error_code == "provider_http_error"


def test_a_failure_after_text_is_not_retried_and_is_priced_from_what_arrived(client, fake_provider, events):
    # The connection drops after the role chunk and two text chunks: the caller already has text.
    fake_provider.enqueue(stream=openai_stream("abcdefghijklmnop", chunk_chars=4), stream_cut_after=3)
    stream = client.stream(openai_provider(fake_provider.openai_base_url), chat("x" * 40))
    received: list[str] = []
    with pytest.raises(ProviderConnectionError):
        drain(stream, received)
    assert received == ["abcd", "efgh"]
    assert stream.result is None
    assert fake_provider.request_count == 1
    assert len(events) == 1
    assert events[0].status == "error"
    # No usage chunk arrived: estimated from the prompt and the text received, never zero.
    assert events[0].usage.uncached_input_tokens == 10
    assert events[0].usage.output_tokens == 2


def test_a_stream_that_ends_without_saying_done_is_an_error(client, fake_provider):
    events = openai_stream("abc", include_usage=False)
    events = [e for e in events if 'finish_reason": "stop' not in e and "[DONE]" not in e]
    fake_provider.enqueue(stream=events)
    provider = openai_provider(fake_provider.openai_base_url, retry=NO_RETRY)
    with pytest.raises(ProviderResponseError):
        collect(client.stream(provider, chat()))


def test_closing_early_cancels_and_records_it(client, fake_provider, events):
    fake_provider.enqueue(
        stream=anthropic_stream("a long answer " * 20, chunk_chars=5, input_tokens=50), stream_delay=0.01
    )
    stream = client.stream(anthropic_provider(fake_provider.url), chat())
    with stream:
        assert next(stream) == "a lon"
    assert stream.result is None
    assert [e.status for e in events] == ["cancelled"]
    # message_start reported the input tokens; the output is estimated from the text received.
    assert events[0].usage.uncached_input_tokens == 50
    assert events[0].usage.output_tokens >= 1


def test_nothing_is_sent_until_the_first_read(client, fake_provider):
    stream = client.stream(openai_provider(fake_provider.openai_base_url), chat())
    assert fake_provider.request_count == 0
    stream.close()
    assert fake_provider.request_count == 0


def test_an_open_breaker_refuses_a_stream_without_a_request(make_client, fake_provider):
    client = make_client()
    provider = openai_provider(fake_provider.openai_base_url, breaker=FAST_BREAKER,
                               retry=NO_RETRY)  # fmt: skip
    fake_provider.enqueue(status=500, times=4)
    for _ in range(4):
        with pytest.raises(ProviderHTTPError):
            collect(client.stream(provider, chat()))
    assert client.breakers.get("oai:gpt-test", FAST_BREAKER).snapshot().state is BreakerState.OPEN
    with pytest.raises(BreakerOpenError):
        collect(client.stream(provider, chat()))
    assert fake_provider.request_count == 4


def test_the_offline_simulator_streams_its_reply(client, events):
    provider = offline_provider(offline={"mode": "echo", "stream_chunk_chars": 6})
    stream = client.stream(provider, chat("what is up"))
    deltas = collect(stream)
    assert "".join(deltas) == "[simulated] reply to: what is up"
    assert all(len(d) <= 6 for d in deltas)
    assert stream.result.simulated is True
    assert events[-1].status == "ok"


def test_the_offline_simulator_can_fail_mid_stream(client, events):
    provider = offline_provider(offline={"stream_chunk_chars": 4, "stream_fail_after_chunks": 2})
    stream = client.stream(provider, chat("hello"))
    got: list[str] = []
    with pytest.raises(ProviderHTTPError):
        drain(stream, got)
    assert got == ["[sim", "ulat"]
    assert events[-1].status == "error"


def test_concurrent_streams_share_the_pool(client, fake_provider):
    fake_provider.enqueue(stream=openai_stream("one two three"), times=8)
    provider = openai_provider(fake_provider.openai_base_url)
    results: list[str] = []

    def run() -> None:
        results.append("".join(client.stream(provider, chat())))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["one two three"] * 8
    assert all(json.loads(json.dumps(r.json))["stream"] for r in fake_provider.requests)
