"""A scan's lookups and writes, batched per process (group commit, `asistencia.batching`):
the concurrent scans' session keys are one Valkey MGET, their PostgreSQL reads
one statement, and their passed rounds another.

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
from asistencia.batching import Batcher
from asistencia.crypto import KeyRing
from asistencia.db import cursor
from asistencia.store import registrations, session_keys
from asistencia.store.session_keys import SessionKey
from asistencia.valkey import VALKEY, Valkey

Row = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ScanBatches:
    session_keys: Batcher[int, SessionKey | None]
    """`session_keys.load_many`, one user id per call."""
    contexts: Batcher[tuple[int, int], Row | None]
    """`registrations.scan_contexts`, one (session id, user id) per call."""
    passes: Batcher[registrations.Pass, Row | None]
    """`registrations.record_passes` of rounds before the last, one registration per batch at most."""

    async def drain(self) -> None:
        await self.session_keys.drain()
        await self.contexts.drain()
        await self.passes.drain()


SCAN_BATCHES = web.AppKey("scan_batches", ScanBatches)


def scan_batches(pool: aiopg.Pool, vk: Valkey, keys: KeyRing) -> ScanBatches:
    async def load_keys(user_ids: list[int]) -> list[SessionKey | None]:
        return await session_keys.load_many(vk, keys, user_ids)

    async def read(wanted: list[tuple[int, int]]) -> list[Row | None]:
        async with cursor(pool) as cur:
            return await registrations.scan_contexts(cur, wanted)

    async def write(passes: list[registrations.Pass]) -> list[Row | None]:
        async with cursor(pool) as cur:
            return await registrations.record_passes(cur, passes)

    return ScanBatches(session_keys=Batcher(load_keys), contexts=Batcher(read),
                       passes=Batcher(write, key=lambda passed: passed.registration_id))


async def scan_batches_ctx(app: web.Application) -> AsyncIterator[None]:
    batches = scan_batches(app[PG_POOL], app[VALKEY], app[CONFIG].session_key_ring)
    app[SCAN_BATCHES] = batches
    yield
    await batches.drain()
