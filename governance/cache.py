"""The default cache: Redis, falling back to this process's memory while Redis is unreachable.

Nothing Arbiter keeps in the cache is the only copy of anything (compiled policies, guard
error-rate counters, probes), so losing Redis must cost sharing, never a request: every
operation that fails with a Redis error is answered from a per-process ``LocMemCache``
instead, and the outage is reported once through ``governance.dependencies`` (log line,
metric, alert). While Redis is known down only one operation per retry interval tries it
again, so requests do not each wait for a connect timeout; the first that succeeds ends the
outage. Entries written to the fallback are not copied back to Redis.
"""

from __future__ import annotations

from typing import Any

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from governance.dependencies import REDIS, Dependency, dependency

COMPONENT = "cache"


class FailSoftRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that never raises a Redis error."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        # LocMemCache storage is shared by every instance with the same name in a process
        # (Django makes one backend instance per thread).
        self._local = LocMemCache(
            f"arbiter-failsoft:{server}",
            {"TIMEOUT": params.get("TIMEOUT", 300), "OPTIONS": {"MAX_ENTRIES": 10_000}},
        )
        self.redis_dependency: Dependency = dependency(REDIS)

    def _either(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.redis_dependency.should_try():
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except redis.RedisError as exc:
                self.redis_dependency.failed(COMPONENT, exc)
            else:
                self.redis_dependency.succeeded(COMPONENT)
                return result
        else:
            self.redis_dependency.fell_back(COMPONENT)
        return getattr(self._local, name)(*args, **kwargs)

    def ping(self) -> None:
        """Raise unless Redis answers now (readiness probe: bypasses the fallback)."""
        self._cache.get_client(write=True).ping()

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return bool(self._either("add", key, value, timeout, version))

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._either("get", key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._either("set", key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return bool(self._either("touch", key, timeout, version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self._either("delete", key, version))

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return dict(self._either("get_many", keys, version))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self._either("has_key", key, version))

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return int(self._either("incr", key, delta, version))

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return list(self._either("set_many", data, timeout, version))

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._either("delete_many", keys, version)

    def clear(self) -> None:
        self._local.clear()
        self._either("clear")
