"""GET /health checks PostgreSQL and Valkey for real, and stays fast when one hangs."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.helpers import TcpProxy


def _through(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.fixture
async def proxies(config):
    made = {}
    for name, url in (("postgres", config.database_url), ("valkey", config.valkey_url)):
        parts = urlsplit(url)
        made[name] = await TcpProxy(parts.hostname, parts.port).start()
    yield made
    for proxy in made.values():
        await proxy.stop()


@pytest.fixture
async def proxied_client(make_client, config, proxies):
    return await make_client(config.replace(
        database_url=_through(config.database_url, proxies["postgres"]),
        valkey_url=_through(config.valkey_url, proxies["valkey"]),
    ))


async def test_healthy(client):
    response = await client.get("/health")
    body = await response.json()
    assert response.status == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"postgres", "valkey"}
    assert all(check["ok"] and check["latency_ms"] >= 0 for check in body["checks"].values())
    assert body["version"] and body["uptime_seconds"] >= 0


@pytest.mark.parametrize("dependency", ["postgres", "valkey"])
@pytest.mark.parametrize("failure", ["unreachable", "hanging"])
async def test_failed_dependency_is_named_and_answered_quickly(proxied_client, proxies, dependency, failure):
    assert (await proxied_client.get("/health")).status == 200
    if failure == "hanging":
        proxies[dependency].stall()
    else:
        await proxies[dependency].refuse()
    started = time.monotonic()
    response = await proxied_client.get("/health")
    elapsed = time.monotonic() - started
    body = await response.json()
    assert response.status == 503
    assert body["error"]["code"] == "DEPENDENCY_DOWN" and dependency in body["error"]["message"]
    assert body["checks"][dependency]["ok"] is False
    other = "valkey" if dependency == "postgres" else "postgres"
    assert body["checks"][other]["ok"] is True
    assert elapsed < 1.5, f"/health took {elapsed:.2f}s with {dependency} {failure}"


async def test_recovers_when_a_hanging_dependency_comes_back(proxied_client, proxies):
    proxies["valkey"].stall()
    assert (await proxied_client.get("/health")).status == 503
    proxies["valkey"].resume()
    assert (await proxied_client.get("/health")).status == 200
