"""Fixed-window counters in Valkey, shared by every process: one round trip per check (or per batch).

A window starts with its first hit and lasts `window_seconds`; the key
expires with it, so nothing needs cleaning up.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

from redis.exceptions import NoScriptError

from asistencia.valkey import Valkey

# KEYS: counters; ARGV: window ms, allowed. INCR each, start the window on its first hit; answers
# per key {hits, ms until the window ends} — the time left read only past the limit (a refusal
# needs it for Retry-After; an allowed hit does not), and a counter found without an expiry
# (its PEXPIRE lost) given one then, so nobody is refused forever.
_HIT = """
local window, allowed = ARGV[1], tonumber(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  local hits = redis.call('INCR', key)
  local ttl = -1
  if hits == 1 then
    redis.call('PEXPIRE', key, window)
  elseif hits > allowed then
    ttl = redis.call('PTTL', key)
    if ttl < 0 then
      redis.call('PEXPIRE', key, window)
      ttl = tonumber(window)
    end
  end
  out[i] = {hits, ttl}
end
return out
"""
_HIT_SHA = hashlib.sha1(_HIT.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Limit:
    name: str
    allowed: int
    window_seconds: int


@dataclasses.dataclass(frozen=True)
class Spent:
    hits: int
    allowed: bool
    retry_after_seconds: int  # 0 when allowed


async def hit(vk: Valkey, limit: Limit, who: object) -> Spent:
    """Count one hit for `who` under `limit`."""
    return (await hit_many(vk, limit, [who]))[0]


async def hit_many(vk: Valkey, limit: Limit, whos: Sequence[object]) -> list[Spent]:
    """Count one hit for each of `whos` (a name may come more than once) in one script run."""
    if not whos:
        return []
    keys = [vk.key("rate", limit.name, who) for who in whos]
    args = [limit.window_seconds * 1000, limit.allowed]
    try:
        replies = await vk.client.evalsha(_HIT_SHA, len(keys), *keys, *args)
    except NoScriptError:  # a Valkey that has not seen the script yet (or restarted): it loads it
        replies = await vk.client.eval(_HIT, len(keys), *keys, *args)
    return [_spent(limit, int(hits), int(ttl_ms)) for hits, ttl_ms in replies]


def _spent(limit: Limit, hits: int, ttl_ms: int) -> Spent:
    if hits <= limit.allowed:
        return Spent(hits, True, 0)
    return Spent(hits, False, max(1, -(-ttl_ms // 1000)))


async def hits_of(vk: Valkey, limit: Limit, whos: list[object]) -> list[int]:
    """The hits counted so far in the current window of each of `whos` (0 where none)."""
    if not whos:
        return []
    values = await vk.client.mget([vk.key("rate", limit.name, who) for who in whos])
    return [int(value or 0) for value in values]
