"""A student joins a class session by its code and reads back their progress."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.attendance import announce, limits, shared_projection, wire
from asistencia.attendance.refusals import dependencies_required, refusal
from asistencia.attendance.sessions import code_texts, keep_until
from asistencia.db import cursor, transaction
from asistencia.domain import counters, rounds
from asistencia.domain.networks import address_or_none, is_allowed
from asistencia.domain.projection import projectable_ms
from asistencia.domain.projection_modes import PER_STUDENT
from asistencia.domain.qr_payload import MAX_ID, round_qr
from asistencia.events import EVENTS
from asistencia.store import class_sessions, devices, registrations, session_keys, users
from asistencia.store.qr_pool import QR_POOL
from asistencia.tokens import User
from asistencia.valkey import VALKEY

log = logging.getLogger(__name__)


async def join(app: web.Application, user: User, remote: str | None, code: str) -> dict[str, Any]:
    """Register the student (once) and make sure their current round's QR is in the pool.

    Joining again answers the current state and never makes a second
    registration or a second live QR; it also repairs a missing QR (a new
    device login, or a process that died before putting it in the pool).
    """
    config = app[CONFIG]
    await limits.spend(app, limits.joins(app), user.id)
    if user.id > MAX_ID:
        raise refusal("STUDENT_ID_UNSUPPORTED")
    with dependencies_required():
        async with cursor(app[PG_POOL]) as cur:
            found = await class_sessions.find_by_join_code(cur, code)
        if found is None:
            raise refusal("JOIN_CODE_UNKNOWN")
        if found["status"] == "draft":
            raise refusal("SESSION_NOT_OPEN")
        if not found["open"]:
            raise refusal("SESSION_CLOSED")
        if not is_allowed(remote, found["allowed_networks"]):
            raise refusal("NETWORK_NOT_ALLOWED")
        key = await session_keys.load(app[VALKEY], config.session_key_ring, user.id)
        if key is None:
            raise refusal("NOT_READY")
        session_id = found["id"]
        async with transaction(app[PG_POOL]) as cur:
            session = await class_sessions.lock_open(cur, session_id)
            if not session["open"]:
                raise refusal("SESSION_CLOSED")
            # The key's device must still be the active one: a revocation holds even
            # if deleting the key from Valkey was lost.
            if await devices.active_id(cur, user.id) != key.device_id:
                raise refusal("NOT_READY")
            await users.remember_in(cur, user)
            created = await registrations.join(cur, session_id=session_id, user_id=user.id,
                                               device_id=key.device_id, origin_ip=address_or_none(remote))
            if created:
                new_counters = await class_sessions.change_counters(
                    cur, session_id, counters.changes(None, rounds.joined()))
            student = await registrations.student(cur, session_id, user.id)
        if created:
            log.info("student joined", extra={"session_id": session_id, "user_id": user.id})
            await announce.joined(app[EVENTS], session_id, wire.student_json(student),
                                  wire.counters_json(new_counters))
        if student["state"] == rounds.SCANNING and session["projection_mode"] == PER_STUDENT:
            qr = round_qr(key.key, session_id, user.id, student["current_round"], time.time(),
                          texts=code_texts(config))
            await app[QR_POOL].issue(session_id, qr, mode="ensure", keep_until=keep_until(session),
                                     stale_after_ms=projectable_ms(config.qr_window_seconds))
        projection = await shared_projection.projection_for(app, session, user.id, key.key)
    return wire.progress_json(session, student, attempts=config.scan_attempts, status=student["status"],
                              projection=projection)


async def lookup(app: web.Application, user: User, code: str) -> dict[str, Any]:
    """Where the session a join code names stands, before any device login: the scanner tells
    a student following a closed class's link so without asking for the passkey first.

    Spends the join limit: a lookup is as good a way to guess codes as a join.
    """
    await limits.spend(app, limits.joins(app), user.id)
    with dependencies_required():
        async with cursor(app[PG_POOL]) as cur:
            found = await class_sessions.find_by_join_code(cur, code)
    if found is None:
        raise refusal("JOIN_CODE_UNKNOWN")
    return wire.join_code_session_json(found)


async def status(app: web.Application, user: User, session_id: int) -> dict[str, Any]:
    async with cursor(app[PG_POOL]) as cur:
        session = await class_sessions.get(cur, session_id)
        student = None if session is None else await registrations.student(cur, session_id, user.id)
    if student is None:
        # The same answer for a session that does not exist: ids are sequential, students need not learn them.
        raise refusal("NOT_JOINED")
    with dependencies_required():
        key = await session_keys.load(app[VALKEY], app[CONFIG].session_key_ring, user.id)
        projection = await shared_projection.projection_for(app, session, user.id, key and key.key)
    return wire.progress_json(session, student, attempts=app[CONFIG].scan_attempts, status=student["status"],
                              projection=projection)
