"""The Valkey client under a burst: more concurrent commands than connections."""

from __future__ import annotations

import asyncio

from asistencia.valkey import create_client


async def test_commands_beyond_the_connection_limit_wait_for_a_connection(config):
    client = create_client(config.valkey_url, client_name="asistencia-test", max_connections=2)
    try:
        counts = await asyncio.gather(*(client.incr(config.valkey_prefix + "burst") for _ in range(20)))
    finally:
        await client.aclose()
    assert sorted(counts) == list(range(1, 21))
