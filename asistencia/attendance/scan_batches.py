"""A scan's lookups and writes, batched per process (group commit, `asistencia.batching`):
the concurrent scans' rate-limit counters are one Valkey script run, their session
keys one MGET, their PostgreSQL reads one statement, their passed rounds another,
and their recorded replies one pipeline.

Under load a batch holds every scan that arrived while the one before it was
running, so N scans cost one round trip (and one commit) instead of N. The
consume script batches itself (`QrPool.consume`), as do events (`EventHub`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiopg
from aiohttp import web

from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.attendance import limits
from asistencia.batching import Batcher
from asistencia.crypto import KeyRing
from asistencia.db import cursor
from asistencia.store import rate_limits, registrations, scan_replies, session_keys
from asistencia.store.rate_limits import Limit, Spent
from asistencia.store.session_keys import SessionKey
from asistencia.valkey import VALKEY, Valkey

Row = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ScanBatches:
    limits: Batcher[int, Spent]
    """`rate_limits.hit_many` under the scans limit, one user id per call."""
    session_keys: Batcher[int, SessionKey | None]
    """`session_keys.load_many`, one user id per call."""
    contexts: Batcher[tuple[int, int], Row | None]
    """`registrations.scan_contexts`, one (session id, user id) per call."""
    passes: Batcher[registrations.Pass, Row | None]
    """`registrations.record_passes` of rounds before the last, one registration per batch at most."""

    replies: Batcher[scan_replies.Recorded, None]
    """`scan_replies.save`, one accepted scan's reply per call."""

    async def drain(self) -> None:
        await self.limits.drain()
        await self.session_keys.drain()
        await self.contexts.drain()
        await self.passes.drain()
        await self.replies.drain()


SCAN_BATCHES = web.AppKey("scan_batches", ScanBatches)


def scan_batches(pool: aiopg.Pool, vk: Valkey, keys: KeyRing, limit: Limit) -> ScanBatches:
    async def spend(user_ids: list[int]) -> list[Spent]:
        return await rate_limits.hit_many(vk, limit, user_ids)

    async def load_keys(user_ids: list[int]) -> list[SessionKey | None]:
        return await session_keys.load_many(vk, keys, user_ids)

    async def read(wanted: list[tuple[int, int]]) -> list[Row | None]:
        async with cursor(pool) as cur:
            return await registrations.scan_contexts(cur, wanted)

    async def write(passes: list[registrations.Pass]) -> list[Row | None]:
        async with cursor(pool) as cur:
            return await registrations.record_passes(cur, passes)

    async def remember(recorded: list[scan_replies.Recorded]) -> list[None]:
        await scan_replies.save(vk, recorded)
        return [None] * len(recorded)

    return ScanBatches(limits=Batcher(spend), session_keys=Batcher(load_keys), contexts=Batcher(read),
                       passes=Batcher(write, key=lambda passed: passed.registration_id),
                       replies=Batcher(remember))


async def scan_batches_ctx(app: web.Application) -> AsyncIterator[None]:
    batches = scan_batches(app[PG_POOL], app[VALKEY], app[CONFIG].session_key_ring, limits.scans(app))
    app[SCAN_BATCHES] = batches
    yield
    await batches.drain()
