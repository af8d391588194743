"""The per-key API rate limit (issue 8, item 8): no lost updates under concurrent requests."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from governance.services.api_keys import api_key_create


def _hammer(secret: str, *, threads: int, per_thread: int) -> list[int]:
    codes: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        mine = []
        start.wait()
        try:
            for _ in range(per_thread):
                mine.append(client.get("/api/v1/whoami").status_code)
        finally:
            connections.close_all()  # this thread's own database connection
        with lock:
            codes.extend(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return codes


@pytest.mark.parametrize("store", ["memory", "redis"])
@pytest.mark.django_db(transaction=True)
def test_the_api_rate_limit_holds_under_concurrent_requests(store, alice_project, settings, request):
    # Before the fix DRF's throttle read the request history, appended and wrote it back:
    # concurrent requests overwrote each other's entries and all got through.
    settings.REDIS_URL = request.getfixturevalue("redis_url") if store == "redis" else None
    settings.ARBITER_API_RATE = "40/hour"
    secret = api_key_create(project=alice_project, name="busy", scopes="all").secret

    codes = _hammer(secret, threads=8, per_thread=15)

    assert len(codes) == 120
    assert codes.count(200) == 40
    assert codes.count(429) == 80


@pytest.mark.django_db
def test_each_key_has_its_own_limit(alice, bob, settings):
    settings.ARBITER_API_RATE = "2/hour"
    alice_client, bob_client = alice.client(), bob.client()
    assert [alice_client.get("/api/v1/whoami").status_code for _ in range(3)] == [200, 200, 429]
    assert bob_client.get("/api/v1/whoami").status_code == 200
