"""`project` and `watch`: a professor's screens following a class session.

A projector gets a countdown, then a frame per tick from its session's
frame clock in this process (attendance/frame_clock.py), plus the live
counters and `closed`; never who is who (the whole class sees that screen). A
dashboard (`watch`) gets every event of the session, with student ids, and
no frames. Both subscribe before reading their snapshot, hold events back
until the snapshot has been sent, and take a fresh snapshot on `resync`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from marshmallow import fields

from asistencia.appkeys import CONFIG
from asistencia.attendance import announce, projection, wire
from asistencia.attendance.frame_clock import FRAME_CLOCKS
from asistencia.attendance.refusals import refusal
from asistencia.validation import ID_RANGE
from asistencia.auth import STAFF
from asistencia.domain.projection import next_deadline
from asistencia.domain.projection_modes import SHARED
from asistencia.events import EVENTS
from asistencia.store.qr_pool import Frame
from asistencia.ws import messages
from asistencia.ws.commands import CommandSchema, command
from asistencia.ws.connection import CloseSocket, Connection
from asistencia.ws.const import CLOSE_INTERNAL_ERROR, CLOSE_UNKNOWN_SESSION

# A connection projects or watches one session at a time.
FOLLOW = "follow"

Event = dict[str, Any]
T = TypeVar("T")


class SessionCommand(CommandSchema):
    session = fields.Integer(required=True, strict=True, validate=ID_RANGE)


async def _snapshot_after_subscribing(connection: Connection, unsubscribe: Callable[[], None],
                                      snapshot: Awaitable[T]) -> T:
    """Hold the subscription, then read the snapshot (nothing missed in between); undo it if the read fails."""
    connection.subscribe(FOLLOW, unsubscribe)
    try:
        return await snapshot
    except BaseException:
        connection.unsubscribe(FOLLOW)
        raise


async def _own_session(connection: Connection, session_id: int) -> dict[str, Any]:
    if connection.subscribed(FOLLOW):
        raise refusal("ALREADY_SUBSCRIBED")
    session = await projection.session_row(connection.app, session_id)
    user = connection.user
    if session is None or not (user.is_admin or session["professor_id"] == user.id):
        raise CloseSocket(CLOSE_UNKNOWN_SESSION, "UNKNOWN_SESSION")
    return session


class Projector:
    """One projector socket's part. It keeps the session's id, not its row: a process holds
    hundreds of these, and the frame clock has the row."""

    def __init__(self, connection: Connection, session: dict[str, Any]) -> None:
        self.connection = connection
        self.session_id = session["id"]
        self.counters_version = session["counters_version"]
        self._held: list[Event] | None = []
        self._unsubscribe = connection.app[EVENTS].subscribe(announce.projector_topic(session["id"]),
                                                             self.on_event)
        self._task: asyncio.Task | None = None
        self._leave_clock: Callable[[], None] | None = None
        self._seq = 0

    def close(self) -> None:
        self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
        if self._leave_clock is not None:
            self._leave_clock()

    def on_event(self, event: Event) -> None:
        if self._held is not None:
            self._held.append(event)
        else:
            self._handle(event)

    def _handle(self, event: Event) -> None:
        name, data = event["event"], event["data"]
        if name == "resync":
            self.connection.start_task(self._resync())
            return
        self._send_counters(data["counters"])
        if name == "closed":
            self.connection.send(messages.event("closed", data))
            self.connection.unsubscribe(FOLLOW)

    def _send_counters(self, counters: dict[str, int]) -> None:
        # Events can arrive after a newer snapshot; counters only move forward.
        if counters["version"] > self.counters_version:
            self.counters_version = counters["version"]
            self.connection.send(messages.event("counters", {"session": self.session_id, "counters": counters}))

    async def _resync(self) -> None:
        session = await projection.session_row(self.connection.app, self.session_id)
        self._send_counters(wire.counters_json(session))

    def start(self, session: dict[str, Any]) -> None:
        """Begin with the snapshot taken after subscribing; call once the result is queued."""
        self.counters_version = max(self.counters_version, session["counters_version"])
        self._task = self.connection.start_task(self._run(session))

    async def _run(self, session: dict[str, Any]) -> None:
        held, self._held = self._held or [], None
        for event in held:
            self._handle(event)
        config = self.connection.app[CONFIG]
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        for seconds_left in range(config.countdown_seconds, 0, -1):
            self.connection.send({"type": "countdown", "session": self.session_id, "seconds_left": seconds_left})
            deadline = next_deadline(deadline, loop.time(), 1.0)
            await asyncio.sleep(deadline - loop.time())
        self._leave_clock = self.connection.app[FRAME_CLOCKS].follow(session, self._on_frame, self._on_clock_lost)
        self._task = None  # done: nothing left to cancel

    def _on_clock_lost(self) -> None:
        # A screen without frames must not look alive: closed, it reconnects and starts a new clock.
        self.connection.close_soon(CLOSE_INTERNAL_ERROR, "PROJECTION_STOPPED")

    def _on_frame(self, frame: Frame, time_left_ms: int) -> None:
        """A frame of the session's clock in this process (shared with its other screens here)."""
        self._seq += 1
        self.connection.send({"type": "frame", "session": self.session_id, "seq": self._seq,
                              "qrs": frame.texts if time_left_ms else [], "time_left_ms": time_left_ms})


@command("project", SessionCommand(), roles=STAFF)
async def project(connection: Connection, message: dict[str, Any]) -> dict[str, Any]:
    session = await _own_session(connection, message["session"])
    if session["status"] == "draft":
        raise refusal("SESSION_NOT_OPEN")
    if session["status"] != "active":
        raise refusal("SESSION_CLOSED")
    projector = Projector(connection, session)
    session = await _snapshot_after_subscribing(connection, projector.close,
                                                projection.session_row(connection.app, session["id"]))
    projector.start(session)
    config = connection.app[CONFIG]
    started = {"session": wire.projected_session_json(session), "tick_ms": config.qr_tick_ms,
               "per_frame": config.qr_per_frame, "countdown_seconds": config.countdown_seconds,
               "mode": session["projection_mode"]}
    if session["projection_mode"] == SHARED:
        started.update(per_frame=1, round_gap_seconds=config.shared_round_gap_seconds)
    return started


class Watcher:
    def __init__(self, connection: Connection, session_id: int) -> None:
        self.connection = connection
        self.session_id = session_id
        self._held: list[Event] | None = []
        self._unsubscribe = connection.app[EVENTS].subscribe(announce.dashboard_topic(session_id), self.on_event)

    def close(self) -> None:
        self._unsubscribe()

    def on_event(self, event: Event) -> None:
        if self._held is not None:
            self._held.append(event)
        elif event["event"] == "resync":
            self.connection.start_task(self._resync())
        else:
            self.connection.send(messages.event(event["event"], event["data"]))

    async def release(self) -> None:
        """Send what arrived while the snapshot was read; from now on events go straight out."""
        held, self._held = self._held or [], None
        for event in held:
            self.on_event(event)

    async def _resync(self) -> None:
        snapshot = await projection.dashboard_snapshot(self.connection.app, self.session_id)
        self.connection.send(messages.event("snapshot", snapshot))


@command("watch", SessionCommand(), roles=STAFF)
async def watch(connection: Connection, message: dict[str, Any]) -> dict[str, Any]:
    session = await _own_session(connection, message["session"])
    watcher = Watcher(connection, session["id"])
    snapshot = await _snapshot_after_subscribing(connection, watcher.close,
                                                 projection.dashboard_snapshot(connection.app, session["id"]))
    # Runs after the result below is queued, so held events follow the snapshot.
    connection.start_task(watcher.release())
    return snapshot
