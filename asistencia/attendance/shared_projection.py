"""The shared-frame mode (docs/protocol.md §8): its frames, its key for each student, its scans.

A tick seals a candidate frame under the session's projection key and lets
the store keep the slot's one frame (`store/shared_frames.py`); a joined
student gets the projection key wrapped under their session key; a scan of
a frame is checked like a code's (`domain.submission.check_frame`), then
checked and recorded in one atomic step, and handed back to
`scanning` to be committed like any passed round.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from asistencia.appkeys import CONFIG
from asistencia.attendance.sessions import keep_until
from asistencia.domain import rounds
from asistencia.domain.projection import showing_offset_ms, window_ms
from asistencia.domain.projection_modes import PER_STUDENT
from asistencia.domain.shared_frame import new_frame, wrap_for_student
from asistencia.domain.submission import ScanRefused, check_frame
from asistencia.store.qr_pool import Frame
from asistencia.store.shared_frames import SHARED_FRAMES

Row = dict[str, Any]

# Frames are kept (and refused as expired, not as unknown) this many windows after their showing.
FORGET_AFTER_WINDOWS = 3


async def next_frame(app: web.Application, session: Row) -> Frame:
    """One tick: the slot's frame, made by this process unless another made it first."""
    config = app[CONFIG]
    frames = app[SHARED_FRAMES]
    until = keep_until(session)
    key = await frames.projection_key(session["id"], keep_until=until)
    shown = await frames.tick(session["id"], new_frame(key, session["id"], time.time()), tick_ms=config.qr_tick_ms,
                              showing_offset_ms=showing_offset_ms(session["id"], config.qr_tick_ms),
                              keep_until=until,
                              forget_after_ms=FORGET_AFTER_WINDOWS * window_ms(config.shared_frame_window_seconds))
    return Frame(shown.now_ms, [shown.text], [], 0, shown.shown_ms)


async def projection_for(app: web.Application, session: Row, student_id: int,
                         session_key: bytes | None) -> dict[str, Any]:
    """What a student's scanner must know of the projection (the `projection` of its progress)."""
    if session["projection_mode"] == PER_STUDENT:
        return {"mode": PER_STUDENT}
    config = app[CONFIG]
    frames = app[SHARED_FRAMES]
    projection = {"mode": session["projection_mode"], "round_gap_seconds": config.shared_round_gap_seconds,
                  "frame_window_seconds": config.shared_frame_window_seconds, "key": None,
                  "answered_issued_at": await frames.answered_issued_at(session["id"], student_id)}
    if session_key is not None:
        key = await frames.projection_key(session["id"], keep_until=keep_until(session))
        projection["key"] = wrap_for_student(session_key, key, session_id=session["id"], student_id=student_id)
    return projection


@dataclasses.dataclass(frozen=True)
class FramePass:
    """A frame answer checked and recorded in Valkey, not yet committed; `undo` gives it back."""

    round: int
    shown_ms: int
    receipt_ms: int
    undo: Callable[[], Awaitable[None]]

    @property
    def response_ms(self) -> int:
        return max(0, self.receipt_ms - self.shown_ms)


async def answer(app: web.Application, context: Row, student_id: int, session_key: bytes, *, qr: str, proof: bytes,
                 remote: str | None, progress: rounds.Progress) -> FramePass:
    """Check a scan of a shared frame and record it (ScanRefused with the first failed check)."""
    config = app[CONFIG]
    frames = app[SHARED_FRAMES]
    session_id = context["session_id"]
    until = keep_until(context)
    key = await frames.projection_key(session_id, keep_until=until)
    submission = check_frame(session_key=session_key, projection_key=key, session_id=session_id,
                             student_id=student_id, current_round=progress.current_round, qr_text=qr,
                             sealed_proof=proof, remote=remote, allowed_networks=context["allowed_networks"])
    entry_id = submission.payload.entry_id
    answered = await frames.consume(
        session_id, entry_id=entry_id, text=qr, student=student_id, expected_round=progress.current_round,
        proof_round=submission.proof.round, attempts_left=progress.state == rounds.SCANNING,
        window_ms=window_ms(config.shared_frame_window_seconds), round_gap_seconds=config.shared_round_gap_seconds,
        keep_until=until)
    if isinstance(answered, str):
        raise ScanRefused(answered)
    return FramePass(progress.current_round, answered.shown_ms, answered.receipt_ms,
                     functools.partial(frames.undo, session_id, entry_id=entry_id, student=student_id,
                                       previous=answered.previous))
