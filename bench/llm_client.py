"""What does the LLM client add on top of a bare HTTP POST?

    python bench/llm_client.py [--calls 2000]

Starts a zero-latency HTTP server in a separate process (so it does not compete
for this process's GIL) that answers every POST with the same OpenAI
chat-completion body over keep-alive connections, then times, per call:

* a bare ``httpx.Client.post`` of the same payload and headers;
* ``LlmClient.complete`` through breaker (memory store) + retry wrapper +
  request hash + ``UsageEvent`` publication to one no-op subscriber;
* the same with the Redis breaker store, when ``REDIS_URL`` is set
  (two Lua round trips per call: acquire and record);
* the offline simulator through the same pipeline, with no HTTP at all.

Variants run interleaved in chunks so drift (CPU frequency, other load)
spreads evenly over them. Prints median and p99 in µs and the overhead ratio of
medians against the bare POST.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from multiprocessing.queues import Queue
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import redis

from governance import hooks
from governance.llm import (
    PROVIDER_CALL_ATTEMPTED,
    ChatMessage,
    ChatRequest,
    LlmClient,
    MemoryBreakerStore,
    ProviderConfig,
    RedisBreakerStore,
    UsageEvent,
)
from governance.llm.providers import openai

KEY_ENV = "ARBITER_PROVIDER_BENCH_KEY"
CHUNK = 100

REPLY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "bench-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 0}},
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(REPLY)).encode()
    + b"\r\n\r\n"
    + REPLY
)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            writer.write(RESPONSE)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _serve(ready: Queue[int]) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_handle, "127.0.0.1", 0)
        ready.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _time(fn: Callable[[], object], calls: int, samples: list[float]) -> None:
    for _ in range(calls):
        started = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - started) / 1000.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per variant (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per variant first")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ready: Queue[int] = context.Queue()
    server = context.Process(target=_serve, args=(ready,), daemon=True)
    server.start()
    port = ready.get(timeout=30)
    base_url = f"http://127.0.0.1:{port}/v1"
    os.environ[KEY_ENV] = "bench-key"

    provider = ProviderConfig(name="bench", kind="openai", base_url=base_url, api_key_env=KEY_ENV)
    offline = ProviderConfig(name="bench-offline", kind="offline")
    request = ChatRequest(model="bench-model", messages=(ChatMessage("user", "Say ok."),), max_tokens=5)
    call = openai.build_chat_call(request, os.environ[KEY_ENV])
    published: list[int] = [0]

    def count(event: UsageEvent) -> None:
        published[0] += 1

    hooks.subscribe(PROVIDER_CALL_ATTEMPTED, count)

    bare = httpx.Client(timeout=10.0)
    memory_client = LlmClient(breaker_store=MemoryBreakerStore())
    variants: dict[str, Callable[[], object]] = {
        "bare httpx.Client.post": lambda: bare.post(base_url + call.path, json=call.payload, headers=call.headers),
        "LlmClient.complete, memory breaker": lambda: memory_client.complete(provider, request),
    }
    redis_client: redis.Redis | None = None
    prefix = f"arbiter-bench:{uuid.uuid4().hex}:"
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        redis_client = redis.Redis.from_url(redis_url)
        redis_llm = LlmClient(breaker_store=RedisBreakerStore(redis_client, prefix=prefix))
        variants["LlmClient.complete, Redis breaker"] = lambda: redis_llm.complete(provider, request)
    variants["LlmClient.complete, offline (no HTTP)"] = lambda: memory_client.complete(offline, request)

    wall = time.perf_counter()
    try:
        for fn in variants.values():
            _time(fn, args.warmup, [])
        samples: dict[str, list[float]] = {name: [] for name in variants}
        done = 0
        while done < args.calls:
            chunk = min(CHUNK, args.calls - done)
            for name, fn in variants.items():
                _time(fn, chunk, samples[name])
            done += chunk
    finally:
        bare.close()
        memory_client.close()
        if redis_client is not None:
            keys = list(redis_client.scan_iter(match=prefix + "*"))
            if keys:
                redis_client.delete(*keys)
            redis_client.close()
        server.terminate()
        server.join(timeout=5)

    bare_median = statistics.median(samples["bare httpx.Client.post"])
    print(f"LLM client overhead: {args.calls} calls per variant, zero-latency local server (separate process)")
    if not redis_url:
        print("(set REDIS_URL to include the Redis breaker store)")
    print(f"{'variant':<40} {'median µs':>10} {'p99 µs':>10} {'+µs':>8} {'vs bare':>8}")
    for name, values in samples.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(f"{name:<40} {median:>10.1f} {p99:>10.1f} {median - bare_median:>+8.1f} {median / bare_median:>7.2f}x")
    print(f"usage events published: {published[0]}; wall time {time.perf_counter() - wall:.1f} s")


if __name__ == "__main__":
    main()
