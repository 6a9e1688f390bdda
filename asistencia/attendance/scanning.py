"""A student's scan (SPEC §3.5): checks in order, one atomic consume, a durable round.

0. The per-student scan limit (past it, an identical resend of an accepted
   scan still gets its recorded reply).
1. Preconditions, neither logged nor counted: the session exists and is open,
   the student joined and has rounds left, the phone is logged in (READY)
   with the student's active device.
2. `domain.submission.check`: network, proof, QR ownership (no I/O).
3. `QrPool.consume`: exists, projected, unused, window, round, attempts
   — and on success the QR is used up and the next round's QR is live, in the
   same atomic step.
4. The round (and on the last round the outcome) is committed to PostgreSQL
   before the reply. If that fails the consume is undone, so the student can
   scan again; the reply never says success without a commit. The reply is
   then remembered (`scan_replies`).
A refused scan that is the identical resend of an accepted one gets that
scan's reply instead, and costs nothing. Other refusals from step 2 on are
recorded (`scan_failures`) and, per `domain.rounds.counts_against_attempts`,
cost an attempt.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.attendance import announce, limits, shared_projection, wire
from asistencia.attendance.refusals import dependencies_required, refusal
from asistencia.attendance.scan_batches import SCAN_BATCHES
from asistencia.attendance.shared_projection import FramePass
from asistencia.attendance.sessions import code_texts, keep_until
from asistencia.db import transaction
from asistencia.errors import RateLimited
from asistencia.domain import counters, outcome, rounds
from asistencia.domain.networks import address_or_none
from asistencia.domain.projection import window_ms
from asistencia.domain.projection_modes import SHARED
from asistencia.domain.qr_payload import round_qr
from asistencia.domain.submission import ScanRefused, Submission, check
from asistencia.events import EVENTS
from asistencia.store import class_sessions, registrations, scan_failures, scan_replies
from asistencia.store.qr_pool import QR_POOL, Consumed
from asistencia.store.session_keys import SessionKey
from asistencia.tokens import User
from asistencia.valkey import VALKEY

log = logging.getLogger(__name__)

Row = dict[str, Any]


async def scan(app: web.Application, user: User, remote: str | None, *, session_id: int, qr: str,
               proof: bytes) -> dict[str, Any]:
    batches = app[SCAN_BATCHES]
    submitted = scan_replies.fingerprint(qr, proof)
    try:
        await limits.spend(app, limits.scans(app), user.id, batch=batches.limits)
    except RateLimited:
        # An identical resend costs nothing (step 5), the limit included: its reply was recorded.
        with dependencies_required():
            recorded = await scan_replies.find(app[VALKEY], session_id, user.id, submitted)
        if recorded is None:
            raise
        return recorded
    with dependencies_required():
        key, context = await asyncio.gather(batches.session_keys.submit(user.id),
                                            batches.contexts.submit((session_id, user.id)))
        if context is None:
            raise refusal("NOT_JOINED")  # as for a session not joined: students need not learn which ids exist
        unmet = _unmet_precondition(context, key)
        if unmet is not None:
            return await _recorded_reply(app, context, user, submitted, refusal(unmet))
        progress = registrations.progress_of(context)
        try:
            if context["projection_mode"] == SHARED:
                passed = await shared_projection.answer(app, context, user.id, key.key, qr=qr, proof=proof,
                                                        remote=remote, progress=progress)
                # Shielded like a code's consume (below): the commit or the undo always finishes.
                return await asyncio.shield(_record_or_undo(app, user, context, passed.round, passed, passed.undo,
                                                            submitted))
            submission = check(session_key=key.key, session_id=session_id, student_id=user.id,
                               current_round=progress.current_round, qr_text=qr,
                               sealed_proof=proof, remote=remote, allowed_networks=context["allowed_networks"])
            return await _consume_and_record(app, user, context, key.key, submission, qr, submitted)
        except ScanRefused as refused:
            recorded = await scan_replies.find(app[VALKEY], session_id, user.id, submitted)
            if recorded is not None:
                return recorded
            await _record_refusal(app, user, remote, context, refused.code)
            raise refusal(refused.code) from None


def _unmet_precondition(context: Row, key: SessionKey | None) -> str | None:
    """The refusal code of the first unmet precondition (neither logged nor counted), if any."""
    if not context["session_open"]:
        return "SESSION_CLOSED"
    if context["id"] is None:
        return "NOT_JOINED"
    if context["state"] == rounds.COMPLETED:
        return "ALREADY_COMPLETED"
    # A key whose device is no longer the student's active one (revoked, replaced) is
    # refused even if its delete from Valkey was lost: the revocation holds.
    if key is None or key.device_id != context["active_device_id"]:
        return "NOT_READY"
    return None


async def _recorded_reply(app: web.Application, context: Row, user: User, submitted: str,
                          refused: Exception) -> dict[str, Any]:
    """The recorded reply of an identical earlier scan (a resend after a lost reply), else `refused`."""
    if context["id"] is not None:
        recorded = await scan_replies.find(app[VALKEY], context["session_id"], user.id, submitted)
        if recorded is not None:
            return recorded
    raise refused


async def _consume_and_record(app: web.Application, user: User, context: Row, session_key: bytes,
                              submission: Submission, qr: str, submitted: str) -> dict[str, Any]:
    config = app[CONFIG]
    session_id = context["session_id"]
    progress = registrations.progress_of(context)
    now = time.time()
    next_qr = (None if progress.current_round >= context["rounds"]
               else round_qr(session_key, session_id, user.id, progress.current_round + 1, now,
                             texts=code_texts(config)))
    consumed = await app[QR_POOL].consume(
        session_id, entry_id=submission.payload.entry_id, text=qr, owner=user.id,
        expected_round=progress.current_round, proof_round=submission.proof.round,
        attempts_left=progress.state == rounds.SCANNING, window_ms=window_ms(config.qr_window_seconds),
        keep_until=keep_until(context), next_qr=next_qr)
    if isinstance(consumed, str):
        raise ScanRefused(consumed)
    undo = functools.partial(app[QR_POOL].undo, session_id, entry_id=submission.payload.entry_id, owner=user.id,
                             next_qr=next_qr, keep_until=keep_until(context))
    # Shielded: once the QR is consumed, the commit (or the undo) finishes even
    # if this request is cancelled, so Valkey and PostgreSQL never disagree.
    return await asyncio.shield(_record_or_undo(app, user, context, submission.payload.round, consumed, undo,
                                                submitted))


async def _record_or_undo(app: web.Application, user: User, context: Row, round_: int, consumed: Consumed | FramePass,
                          undo: Callable[[], Awaitable[None]], submitted: str) -> dict[str, Any]:
    """Commit a pass the pool (or the shared frames) recorded; `undo` gives it back if that fails."""
    session_id = context["session_id"]
    try:
        reply, announcement = await _record_pass(app, user, context, round_, consumed)
    except BaseException:
        try:
            await undo()
        except RedisError:
            log.error("a consumed QR could not be given back; the student's next join issues a new one",
                      extra={"session_id": session_id, "user_id": user.id})
        raise
    try:
        await app[SCAN_BATCHES].replies.submit(scan_replies.Recorded(session_id, user.id, submitted, reply,
                                                                     keep_until(context)))
    except RedisError:
        # Recorded all the same; a resend of this scan is refused as used (not counted).
        log.warning("could not remember a scan's reply", extra={"session_id": session_id, "user_id": user.id})
    await announcement()
    return reply


async def _record_pass(app: web.Application, user: User, context: Row, round_: int,
                       consumed: Consumed | FramePass) -> tuple[dict[str, Any], Callable[[], Awaitable[None]]]:
    """Commit the passed round (and the outcome after the last); returns the reply and
    the announcement to publish once committed.

    A round before the last is one statement, batched with the other scans'
    (`scan_batches`): the hot path of every scan but the last.
    """
    session_id = context["session_id"]
    hub = app[EVENTS]
    # Where a student scanning `round_` goes; the pass writes it only if that is still where they are.
    after = rounds.passed(rounds.Progress(rounds.SCANNING, round_, 0), context["rounds"])
    passed = registrations.Pass(context["id"], round_, after, response_ms=consumed.response_ms,
                                projected_ms=consumed.shown_ms, scanned_ms=consumed.receipt_ms)
    if after.state != rounds.COMPLETED:
        _written_or_refused(await app[SCAN_BATCHES].passes.submit(passed))
        reply = {"result": "partial", "round": round_, "next_round": after.current_round,
                 "rounds": context["rounds"]}
        return reply, functools.partial(announce.round_passed, hub, session_id, user_id=user.id,
                                        round_=round_, response_ms=consumed.response_ms)
    async with transaction(app[PG_POOL]) as cur:
        registration = _written_or_refused((await registrations.record_passes(cur, [passed]))[0])
        before = registrations.progress_of(registration)
        late = outcome.is_late(registration["joined_at"], context["started_at"], context["late_after_minutes"])
        result = outcome.completed(await registrations.response_times(cur, registration["id"]), late=late)
        saved = await registrations.save_outcome(cur, registration["id"], result)
        new_counters = await class_sessions.change_counters(
            cur, session_id, counters.changes(before, after, result.computed_status),
            registration_id=registration["id"])
    log.info("student completed", extra={"session_id": session_id, "user_id": user.id,
                                         "status": result.computed_status, "certainty": result.certainty})
    reply = {"result": "completed", "round": round_, "rounds": context["rounds"], "status": saved["status"]}
    details = {"status": saved["status"], "computed_status": result.computed_status,
               "certainty": result.certainty, "rounds_completed": result.rounds_completed,
               "rt_mean_ms": result.rt_mean_ms, "rt_sd_ms": result.rt_sd_ms, "rt_min_ms": result.rt_min_ms,
               "rt_max_ms": result.rt_max_ms, "rt_median_ms": result.rt_median_ms}
    return reply, functools.partial(announce.completed, hub, session_id, user_id=user.id, round_=round_,
                                    response_ms=consumed.response_ms, outcome=details,
                                    counters=wire.counters_json(new_counters))


def _written_or_refused(registration: Row) -> Row:
    """The registration the pass was written to; refused if it moved since the pre-check
    (a concurrent scan, failure or reset) or the session closed."""
    if registration["passed"]:
        return registration
    if not registration["session_open"]:
        raise refusal("SESSION_CLOSED")
    if registration["state"] == rounds.COMPLETED:
        raise refusal("ALREADY_COMPLETED")
    if registration["state"] == rounds.FAILED:
        raise refusal("NO_ATTEMPTS_LEFT")
    raise refusal("ROUND_MISMATCH")


async def _record_refusal(app: web.Application, user: User, remote: str | None, context: Row, code: str) -> None:
    """Log the refusal for the fraud counters and, when it counts, spend an attempt.

    A session that closed since the pre-check refuses as closed, with no trace:
    its close already finalised the student (and moved them out of the counters).
    """
    config = app[CONFIG]
    session_id = context["session_id"]
    counted = rounds.counts_against_attempts(code)
    if not counted and not await limits.record_refusal(app, session_id, user.id):
        return  # past the per-student cap: counted in /metrics only, so a flood fills no table or dashboard
    async with transaction(app[PG_POOL]) as cur:
        registration = await registrations.lock(cur, session_id, user.id)
        if not registration["session_open"]:
            raise refusal("SESSION_CLOSED")
        before = registrations.progress_of(registration)
        after = (rounds.failed_attempt(before, config.scan_attempts)
                 if counted and before.state == rounds.SCANNING else before)
        if after != before:
            await registrations.save_progress(cur, registration["id"], after, failed_attempt=True)
        await scan_failures.record(cur, session_id=session_id, user_id=user.id, round_=before.current_round,
                                   code=code, origin_ip=address_or_none(remote))
        if after.state != before.state:
            new_counters = await class_sessions.change_counters(cur, session_id, counters.changes(before, after),
                                                                registration_id=registration["id"])
    log.info("scan refused", extra={"session_id": session_id, "user_id": user.id, "code": code,
                                    "counted": after != before})
    hub = app[EVENTS]
    await announce.scan_failed(hub, session_id, user_id=user.id, round_=before.current_round, code=code,
                               counted=after != before,
                               attempts_left=rounds.attempts_left(after, config.scan_attempts))
    if after.state == rounds.FAILED and before.state != rounds.FAILED:
        try:
            await app[QR_POOL].retire(session_id, user.id)
        except RedisError:
            # Its window runs out on its own; a failed student cannot use it anyway.
            log.warning("could not retire a failed student's QR", extra={"session_id": session_id})
        await announce.failed(hub, session_id, user_id=user.id, round_=after.current_round,
                              counters=wire.counters_json(new_counters))
