"""What projectors and dashboards get: frames from the pool, and snapshots to start from."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.attendance import shared_projection, wire
from asistencia.attendance.sessions import code_texts, fraud_report, keep_until
from asistencia.db import cursor
from asistencia.domain.projection import projectable_ms, showing_offset_ms
from asistencia.domain.projection_modes import SHARED
from asistencia.domain.qr_payload import decoy, round_qr
from asistencia.store import camera_reports, class_sessions, registrations, rosters, scan_failures, session_keys
from asistencia.store.qr_pool import QR_POOL, Frame, StaleQr
from asistencia.valkey import VALKEY

log = logging.getLogger(__name__)

Row = dict[str, Any]


async def next_frame(app: web.Application, session: Row) -> Frame:
    """One tick of the session's shared rotation (one Lua call): its students' codes, or in
    the shared-frame mode the slot's one frame."""
    if session["projection_mode"] == SHARED:
        return await shared_projection.next_frame(app, session)
    config = app[CONFIG]
    return await app[QR_POOL].tick(session["id"], tick_ms=config.qr_tick_ms, per_frame=config.qr_per_frame,
                                   stale_after_ms=projectable_ms(config.qr_window_seconds),
                                   min_pool=config.qr_min_pool, keep_until=keep_until(session),
                                   showing_offset_ms=showing_offset_ms(session["id"], config.qr_tick_ms))


async def add_decoys(app: web.Application, session: Row, count: int) -> None:
    """Top the pool up after a tick found it short (aged decoys, students done)."""
    texts = code_texts(app[CONFIG])
    await app[QR_POOL].pad(session["id"], [decoy(texts) for _ in range(count)], keep_until=keep_until(session))


async def reissue(app: web.Application, session: Row, stale: Sequence[StaleQr]) -> None:
    """Replace students' codes that were projected their whole window (or every text they
    had) without an answer.

    A new nonce, so a photo of the old code is worth nothing. Without a
    session key (the phone logged out) the code is withdrawn; joining again
    after the next device login brings a new one.
    """
    pool, config = app[QR_POOL], app[CONFIG]
    stale_after_ms = projectable_ms(config.qr_window_seconds)
    keys = await session_keys.load_many(app[VALKEY], config.session_key_ring, [item.owner for item in stale])
    for item, key in zip(stale, keys, strict=True):
        if key is None:
            await pool.retire(session["id"], item.owner, only=item.entry_id)
            continue
        qr = round_qr(key.key, session["id"], item.owner, item.round, time.time(), texts=code_texts(config))
        await pool.issue(session["id"], qr, mode="replace", replacing=item.entry_id, keep_until=keep_until(session),
                         stale_after_ms=stale_after_ms)


async def session_row(app: web.Application, session_id: int) -> Row | None:
    async with cursor(app[PG_POOL]) as cur:
        return await class_sessions.get(cur, session_id)


async def dashboard_snapshot(app: web.Application, session_id: int) -> dict[str, Any]:
    """Everything a dashboard shows, as of now: the session, every student (the course roster's
    students who have not joined included), the fraud counters."""
    async with cursor(app[PG_POOL]) as cur:
        session = await class_sessions.get(cur, session_id)
        students = await registrations.students(cur, session_id)
        absentees = await rosters.absentees(cur, session_id)
        failures = await scan_failures.by_student_and_code(cur, session_id)
    cameras = await camera_reports.by_student(app[VALKEY], session_id)
    closed = session["status"] == "closed"
    return {"session": wire.session_json(session),
            "students": [{**wire.student_json(row), "camera": cameras.get(row["user_id"])} for row in students]
                        + [wire.absentee_json(row, session_closed=closed) for row in absentees],
            "fraud": await fraud_report(app, session_id, failures)}
