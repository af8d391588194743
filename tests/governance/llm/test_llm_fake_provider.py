"""The fake provider is shared test infrastructure: pin its contract."""

from __future__ import annotations

import httpx

from tests.support.fake_provider import FakeProviderServer


def test_defaults_per_endpoint(fake_provider: FakeProviderServer) -> None:
    with httpx.Client(base_url=fake_provider.url) as http:
        openai = http.post("/v1/chat/completions", json={"model": "m"}).json()
        bare = http.post("/chat/completions", json={"model": "m"}).json()
        anthropic = http.post("/v1/messages", json={"model": "c"}).json()
        verdict = http.post("/classify", json={"text": "x"}).json()
        missing = http.post("/nope", json={})

    assert openai["choices"][0]["message"]["content"] == "fake reply"
    assert openai["model"] == bare["model"] == "m"
    assert anthropic["content"][0]["text"] == "fake reply"
    assert anthropic["model"] == "c"
    assert verdict["verdict"] == "allow"
    assert missing.status_code == 404
    assert fake_provider.request_count == 5


def test_scripted_queue_headers_records_and_reset(fake_provider: FakeProviderServer) -> None:
    fake_provider.enqueue(status=429, headers={"Retry-After": "3"})
    fake_provider.enqueue(json={"ok": True}, times=2)

    with httpx.Client(base_url=fake_provider.url) as http:
        throttled = http.post("/classify", json={"n": 1}, headers={"X-Test": "yes"})
        ok = [http.post("/classify", json={"n": n}).json() for n in (2, 3)]
        default = http.post("/classify", json={}).json()

    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "3")
    assert throttled.json()["error"]["type"] == "fake_error"
    assert ok == [{"ok": True}, {"ok": True}]
    assert default["verdict"] == "allow"
    assert fake_provider.requests[0].headers["x-test"] == "yes"
    assert [r.json for r in fake_provider.requests[:3]] == [{"n": 1}, {"n": 2}, {"n": 3}]
    fake_provider.enqueue(status=500)
    fake_provider.reset()
    assert (fake_provider.request_count, fake_provider.pending) == (0, 0)


def test_raw_body_and_context_manager() -> None:
    with FakeProviderServer() as server:
        server.enqueue(body=b"not json")
        response = httpx.post(server.url + "/v1/messages", json={})

    assert response.content == b"not json"
