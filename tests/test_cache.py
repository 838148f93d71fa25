"""The Redis cache backend (eportal.cache) against a real Redis server."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from eportal.cache import RedisCache

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def cache():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("REDIS_URL"):
            raise
        pytest.skip("needs Redis: set REDIS_URL=redis://...")
    backend = RedisCache(REDIS_URL, {"KEY_PREFIX": f"eportal-test-{uuid.uuid4().hex}"})
    yield backend
    backend.delete_many(["a", "b"])


def test_reads_and_writes_like_django_redis_cache(cache):
    assert cache.get("a") is None
    cache.set("a", {"patient_id": 7}, 30)
    cache.set_many({"b": [1, 2]}, 30)
    assert cache.get("a") == {"patient_id": 7}
    assert cache.get_many(["a", "b"]) == {"a": {"patient_id": 7}, "b": [1, 2]}
    assert cache.add("c", 1)
    assert cache.incr("c") == 2
    cache.delete("a")
    assert cache.get("a") is None
    cache.delete("c")


def test_one_client_per_pool_not_one_per_call(cache):
    client = cache._cache.get_client("a")
    assert cache._cache.get_client("b") is client
    assert cache._cache.get_client("a", write=True) is client  # one server: one pool
