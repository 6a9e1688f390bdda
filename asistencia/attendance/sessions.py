"""Class sessions from the professor's side: create, read, close (by hand or timer), reset, fraud."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from redis.exceptions import RedisError

from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.config import Config
from asistencia.attendance import announce, limits, wire
from asistencia.attendance.refusals import refusal
from asistencia.db import cursor, transaction
from asistencia.domain import counters, outcome, projection_modes, rounds
from asistencia.domain.join_code import new_join_code
from asistencia.domain.projection import projectable_ms, texts_per_code
from asistencia.domain.qr_payload import decoy, round_qr
from asistencia.events import EVENTS
from asistencia.store import class_sessions, registrations, rosters, scan_failures, session_keys, users
from asistencia.store.qr_pool import QR_POOL
from asistencia.store.shared_frames import SHARED_FRAMES
from asistencia.tokens import User
from asistencia.valkey import VALKEY

log = logging.getLogger(__name__)

Row = dict[str, Any]

JOIN_CODE_ATTEMPTS = 20
# A session's Valkey state outlives its end by this much, then expires on its own.
RETAIN_AFTER_END_SECONDS = 3600


def keep_until(session: Row) -> int:
    """When a session's pool keys expire (unix seconds)."""
    return int(session["ends_at"].timestamp()) + RETAIN_AFTER_END_SECONDS


def code_texts(config: Config) -> int:
    """How many texts each new code (and decoy) carries under the configured projection."""
    return texts_per_code(window_seconds=config.qr_window_seconds, tick_ms=config.qr_tick_ms,
                          per_frame=config.qr_per_frame, min_pool=config.qr_min_pool)


def visible(session: Row | None, user: User) -> Row:
    """The session if `user` may see it; another professor's session does not exist for them."""
    if session is None or not (user.is_admin or session["professor_id"] == user.id):
        raise refusal("SESSION_NOT_FOUND")
    return session


async def find_visible(app: web.Application, user: User, session_id: int) -> Row:
    async with cursor(app[PG_POOL]) as cur:
        return visible(await class_sessions.get(cur, session_id), user)


async def read(app: web.Application, user: User, session_id: int) -> dict[str, Any]:
    return wire.session_json(await find_visible(app, user, session_id))


async def create(app: web.Application, user: User, fields: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Open a session, or save it as a draft (`open` False); with a `request_id` the professor
    already used, the session it made (False: nothing new was made)."""
    request_id = None if fields["request_id"] is None else str(fields["request_id"])
    fields = {**fields, "request_id": request_id}
    for _ in range(JOIN_CODE_ATTEMPTS):
        try:
            async with transaction(app[PG_POOL]) as cur:
                await users.remember_in(cur, user)
                fields["projection_mode"] = await _projection_mode(app, cur, fields["projection_mode"],
                                                                   fields["course_code"])
                session = await class_sessions.create(cur, professor_id=user.id, join_code=new_join_code(),
                                                      **fields)
            break
        except class_sessions.JoinCodeTaken:
            continue
        except class_sessions.RequestRepeated:
            async with cursor(app[PG_POOL]) as cur:
                return wire.session_json(await class_sessions.by_request(cur, user.id, request_id)), False
    else:
        raise refusal("JOIN_CODE_EXHAUSTED")
    if session["status"] == "active":
        await _pad_pool(app, session)
    log.info("class session created", extra={"session_id": session["id"], "professor_id": user.id,
                                             "status": session["status"]})
    return wire.session_json(session), True


async def edit_draft(app: web.Application, user: User, session_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a draft before it opens; an opened, closed or cancelled session is not edited."""
    async with transaction(app[PG_POOL]) as cur:
        before = visible(await class_sessions.get(cur, session_id), user)
        if "projection_mode" in changes:
            changes = {**changes, "projection_mode": await _projection_mode(
                app, cur, changes["projection_mode"], changes.get("course_code", before["course_code"]))}
        if not await class_sessions.edit_draft(cur, session_id, changes):
            raise refusal("SESSION_NOT_DRAFT")
        session = await class_sessions.get(cur, session_id)
    log.info("draft session edited", extra={"session_id": session_id, "actor_id": user.id,
                                            "fields": sorted(changes)})
    return wire.session_json(session)


async def open_draft(app: web.Application, user: User, session_id: int) -> dict[str, Any]:
    """Open a draft: its clock starts now and its join code takes joins. Opening an opened
    session changes nothing and answers the same; a closed or cancelled one cannot be opened."""
    async with transaction(app[PG_POOL]) as cur:
        visible(await class_sessions.get(cur, session_id), user)
        opened_now = await class_sessions.open_draft(cur, session_id)
        # Read after the update: a concurrent opening that won the row shows here as active.
        session = await class_sessions.get(cur, session_id)
    if session["status"] != "active":
        raise refusal("SESSION_NOT_DRAFT")
    if opened_now:
        await _pad_pool(app, session)
        log.info("class session opened", extra={"session_id": session_id, "actor_id": user.id})
        await announce.opened(app[EVENTS], session_id, opened_at=wire.timestamp(session["opened_at"]),
                              ends_at=wire.timestamp(session["ends_at"]))
    return wire.session_json(session)


async def _projection_mode(app: web.Application, cur, chosen: str, course_code: str) -> str:
    """The mode chosen, or (`auto`) the one the course's class size calls for."""
    if chosen != projection_modes.AUTO:
        return chosen
    return projection_modes.resolve(chosen, await rosters.class_size(cur, course_code),
                                    shared_from=app[CONFIG].shared_frames_from_students)


async def _pad_pool(app: web.Application, session: Row) -> None:
    """Decoys in a newly opened session's pool (a shared-frame session has no pool of codes to pad)."""
    if session["projection_mode"] != projection_modes.PER_STUDENT:
        return
    config = app[CONFIG]
    try:
        await app[QR_POOL].pad(session["id"], [decoy(code_texts(config)) for _ in range(config.qr_min_pool)],
                               keep_until=keep_until(session))
    except RedisError:
        # Projector ticks top the decoys up too; the session is open either way.
        log.warning("could not pad a new session's QR pool", extra={"session_id": session["id"]})


async def list_visible(app: web.Application, user: User, *, status: str | None, limit: int,
                       course_code: str | None, professor: str | None, date: dt.date | None) -> list[dict]:
    """Own sessions (admins: everyone's), filtered; `date` is a local calendar day."""
    since = until = None
    if date is not None:
        zone = ZoneInfo(app[CONFIG].timezone)
        since = dt.datetime.combine(date, dt.time(), zone)
        until = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), zone)
    async with cursor(app[PG_POOL]) as cur:
        rows = await class_sessions.list_sessions(cur, professor_id=None if user.is_admin else user.id,
                                                  status=status, limit=limit, course_code=course_code,
                                                  professor=professor, since=since, until=until)
    return [wire.session_json(row) for row in rows]


async def close(app: web.Application, user: User, session_id: int) -> dict[str, Any]:
    """Close and finalise; closing a closed session changes nothing and answers the same."""
    async with transaction(app[PG_POOL]) as cur:
        visible(await class_sessions.get(cur, session_id), user)
        closed_now = await class_sessions.close_and_finalise(
            cur, session_id, closed_by="admin" if user.is_admin else "professor", absent_status=outcome.ABSENT)
        session = await class_sessions.get(cur, session_id)
    if closed_now:
        await _after_close(app, session)
    return wire.session_json(session)


async def cancel(app: web.Application, user: User, session_id: int, reason: str) -> dict[str, Any]:
    """Cancel with a reason (audited on the session row); it then counts nowhere.
    Cancelling a cancelled session changes nothing and answers the same."""
    async with transaction(app[PG_POOL]) as cur:
        before = visible(await class_sessions.get(cur, session_id), user)
        await users.remember_in(cur, user)
        cancelled_now = await class_sessions.cancel(cur, session_id, actor_id=user.id, reason=reason,
                                                    closed_by="admin" if user.is_admin else "professor")
        session = await class_sessions.get(cur, session_id)
    if cancelled_now:
        log.info("class session cancelled", extra={"session_id": session_id, "actor_id": user.id,
                                                   "was": before["status"]})
        if before["status"] == "active":
            await _discard_pool(app, session_id)
        await announce.cancelled(app[EVENTS], session_id, by=user.id, reason=reason,
                                 cancelled_at=wire.timestamp(session["cancelled_at"]),
                                 stopped=before["status"] == "active", closed_by=session["closed_by"],
                                 counters=wire.counters_json(session))
    return wire.session_json(session)


async def close_due(app: web.Application) -> int:
    """Close every session past its end; any number of processes may run this at once:
    each session is closed by exactly one of them (row lock, SKIP LOCKED, status check)."""
    closed = 0
    while True:
        async with transaction(app[PG_POOL]) as cur:
            session_id = await class_sessions.due_for_close(cur)
            if session_id is None:
                return closed
            await class_sessions.close_and_finalise(cur, session_id, closed_by="timer",
                                                    absent_status=outcome.ABSENT)
            session = await class_sessions.get(cur, session_id)
        log.info("class session closed by its timer", extra={"session_id": session_id})
        await _after_close(app, session)
        closed += 1


async def _discard_pool(app: web.Application, session_id: int) -> None:
    try:
        await app[QR_POOL].discard(session_id)
        await app[SHARED_FRAMES].discard(session_id)
    except RedisError:
        log.warning("could not discard a closed session's QR pool (it expires on its own)",
                    extra={"session_id": session_id})


async def _after_close(app: web.Application, session: Row) -> None:
    await _discard_pool(app, session["id"])
    await announce.closed(app[EVENTS], session["id"], closed_by=session["closed_by"],
                          closed_at=wire.timestamp(session["closed_at"]), counters=wire.counters_json(session))


async def reset_student(app: web.Application, actor: User, session_id: int, user_id: int) -> dict[str, Any]:
    """New attempts on the current round for a student (failed or not), audited; a fresh QR."""
    config = app[CONFIG]
    async with transaction(app[PG_POOL]) as cur:
        session = visible(await class_sessions.get(cur, session_id), actor)
        registration = await registrations.lock(cur, session_id, user_id)
        if registration is None:
            raise refusal("NOT_JOINED")
        if not registration["session_open"]:
            raise refusal("SESSION_CLOSED")
        before = registrations.progress_of(registration)
        if before.state == rounds.COMPLETED:
            raise refusal("ALREADY_COMPLETED")
        after = rounds.reset(before)
        await users.remember_in(cur, actor)
        await registrations.save_progress(cur, registration["id"], after)
        await registrations.record_reset(cur, registration_id=registration["id"], actor_id=actor.id,
                                         round_=after.current_round)
        new_counters = await class_sessions.change_counters(cur, session_id, counters.changes(before, after),
                                                            registration_id=registration["id"])
        student = await registrations.student(cur, session_id, user_id)
    log.info("student reset", extra={"session_id": session_id, "user_id": user_id, "actor_id": actor.id})
    try:
        key = await session_keys.load(app[VALKEY], config.session_key_ring, user_id)
        # A shared-frame session has no codes of its own: the student answers the next frame.
        if key is not None and session["projection_mode"] == projection_modes.PER_STUDENT:
            qr = round_qr(key.key, session_id, user_id, after.current_round, time.time(), texts=code_texts(config))
            await app[QR_POOL].issue(session_id, qr, mode="fresh", keep_until=keep_until(session),
                                     stale_after_ms=projectable_ms(config.qr_window_seconds))
    except RedisError:
        # The reset is recorded; the student's next join puts the QR in the pool.
        log.warning("could not issue a QR after a reset", extra={"session_id": session_id, "user_id": user_id})
    await announce.reset(app[EVENTS], session_id, user_id=user_id, round_=after.current_round, actor_id=actor.id,
                         counters=wire.counters_json(new_counters))
    return wire.student_json(student)


def fraud_json(session_id: int, rows: list[Row], unrecorded: dict[int, int]) -> dict[str, Any]:
    """Failure counters by type, and per student (most failures first).

    `unrecorded` (per student) are the refusals past the recording cap: in
    `total` and in the student's `unrecorded`, but in no `by_code` (only their number was kept).
    """
    by_code: dict[str, int] = {}
    students: dict[int, dict[str, Any]] = {}
    for row in rows:
        by_code[row["code"]] = by_code.get(row["code"], 0) + row["count"]
        student = students.setdefault(row["user_id"], {
            "user_id": row["user_id"], "username": row["username"], "full_name": row["full_name"],
            "total": 0, "unrecorded": unrecorded.get(row["user_id"], 0), "by_code": {},
            "last_at": row["last_at"]})
        student["total"] += row["count"]
        student["by_code"][row["code"]] = row["count"]
        student["last_at"] = max(student["last_at"], row["last_at"])
    for student in students.values():
        student["total"] += student["unrecorded"]
    ranked = sorted(students.values(), key=lambda s: (-s["total"], s["user_id"]))
    unrecorded_total = sum(s["unrecorded"] for s in ranked)
    return {"session": session_id, "total": sum(by_code.values()) + unrecorded_total, "by_code": by_code,
            "unrecorded": unrecorded_total,
            "students": [{**s, "last_at": wire.timestamp(s["last_at"])} for s in ranked]}


async def fraud_report(app: web.Application, session_id: int, rows: list[Row]) -> dict[str, Any]:
    """The fraud counters of a session: `rows` from `scan_failures`, the remainder past the cap from Valkey."""
    unrecorded = await limits.unrecorded_refusals(app, session_id, sorted({row["user_id"] for row in rows}))
    return fraud_json(session_id, rows, unrecorded)


async def fraud(app: web.Application, user: User, session_id: int) -> dict[str, Any]:
    async with cursor(app[PG_POOL]) as cur:
        visible(await class_sessions.get(cur, session_id), user)
        rows = await scan_failures.by_student_and_code(cur, session_id)
    return await fraud_report(app, session_id, rows)
