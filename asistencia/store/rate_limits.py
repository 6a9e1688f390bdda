"""Fixed-window counters in Valkey, shared by every process: one round trip per check.

A window starts with its first hit and lasts `window_seconds`; the key
expires with it, so nothing needs cleaning up.
"""

from __future__ import annotations

import dataclasses

from asistencia.valkey import Valkey

# INCR, then start the window on the first hit; answers (hits so far, ms until the window ends).
_HIT = """
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}
"""


@dataclasses.dataclass(frozen=True)
class Limit:
    name: str
    allowed: int
    window_seconds: int


@dataclasses.dataclass(frozen=True)
class Spent:
    hits: int
    allowed: bool
    retry_after_seconds: int


async def hit(vk: Valkey, limit: Limit, who: object) -> Spent:
    """Count one hit for `who` under `limit`."""
    hits, ttl_ms = await vk.client.eval(_HIT, 1, vk.key("rate", limit.name, who), limit.window_seconds * 1000)
    retry_after = max(1, -(-int(ttl_ms) // 1000))
    return Spent(int(hits), int(hits) <= limit.allowed, retry_after)


async def hits_of(vk: Valkey, limit: Limit, whos: list[object]) -> list[int]:
    """The hits counted so far in the current window of each of `whos` (0 where none)."""
    if not whos:
        return []
    values = await vk.client.mget([vk.key("rate", limit.name, who) for who in whos])
    return [int(value or 0) for value in values]
