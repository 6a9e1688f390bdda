"""The Valkey (Redis protocol) client as an application resource, and key naming.

Every key and channel goes through `Keys` so several deployments (or test
runs) can share one Valkey without seeing each other's data.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from asistencia.appkeys import CONFIG
from asistencia.waiting import wait_until_ready

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Valkey:
    """A client plus the namespace all of this deployment's keys and channels live in."""

    client: aioredis.Redis
    prefix: str

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(part) for part in parts)


VALKEY = web.AppKey("valkey", Valkey)


def create_client(url: str, *, client_name: str | None = "asistencia", max_connections: int = 200,
                  wait_seconds: float = 5.0) -> aioredis.Redis:
    """A client whose commands wait (up to `wait_seconds`) for a free connection once
    `max_connections` are busy: a burst of requests queues instead of failing with 503."""
    pool = aioredis.BlockingConnectionPool.from_url(url, socket_connect_timeout=5, health_check_interval=30,
                                                    max_connections=max_connections, timeout=wait_seconds,
                                                    client_name=client_name)
    return aioredis.Redis.from_pool(pool)


def describe_url(url: str) -> str:
    """The URL without credentials, for logs and error messages."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


async def connect_when_ready(url: str, *, wait_seconds: float) -> aioredis.Redis:
    async def attempt() -> aioredis.Redis:
        client = create_client(url)
        try:
            await client.ping()
        except BaseException:
            await client.aclose()
            raise
        return client

    return await wait_until_ready("Valkey", describe_url(url), attempt, wait_seconds,
                                  (RedisConnectionError, RedisTimeoutError, OSError))


async def valkey_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    client = await connect_when_ready(config.valkey_url, wait_seconds=config.startup_wait_seconds)
    app[VALKEY] = Valkey(client, config.valkey_prefix)
    yield
    await client.aclose()
