"""`join` and `scan` over the WebSocket: the same work as the REST endpoints;
`camera`, the scanner's report of its camera for the session it joined.

After a join the connection also gets the student's own events: `reset`
(a professor gave new attempts) and `closed` (the session ended), and
`resync` when events may have been missed (read the status again).
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from asistencia.attendance import announce, joining, scanning
from asistencia.attendance.refusals import refusal
from asistencia.attendance.schemas import JoinSchema, ScanSchema
from asistencia.auth import STUDENT
from asistencia.events import EVENTS
from asistencia.store import camera_reports
from asistencia.validation import ID_RANGE
from asistencia.valkey import VALKEY
from asistencia.ws import messages
from asistencia.ws.commands import CommandSchema, command
from asistencia.ws.connection import Connection

# A student's connection follows the session it joined last.
JOINED = "joined"


class JoinCommand(CommandSchema, JoinSchema):
    pass


class ScanCommand(CommandSchema, ScanSchema):
    pass


class CameraCommand(CommandSchema):
    session = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    state = fields.String(required=True, validate=validate.OneOf(camera_reports.CAMERA_STATES))


def _follow(connection: Connection, session_id: int) -> None:
    hub = connection.app[EVENTS]

    def forward(event: dict[str, Any]) -> None:
        connection.send(messages.event(event["event"], event["data"]))

    undo_own = hub.subscribe(announce.student_topic(session_id, connection.user.id), forward)
    undo_all = hub.subscribe(announce.students_topic(session_id), forward)

    def unsubscribe() -> None:
        undo_own()
        undo_all()

    connection.subscribe(JOINED, unsubscribe)


@command("join", JoinCommand(), roles=STUDENT)
async def join(connection: Connection, message: dict[str, Any]) -> dict[str, Any]:
    progress = await joining.join(connection.app, connection.user, connection.remote, message["code"])
    _follow(connection, progress["session"]["id"])
    connection.joined_session = progress["session"]["id"]
    return progress


@command("scan", ScanCommand(), roles=STUDENT)
async def scan(connection: Connection, message: dict[str, Any]) -> dict[str, Any]:
    return await scanning.scan(connection.app, connection.user, connection.remote, session_id=message["session"],
                               qr=message["qr"], proof=message["proof"])


@command("camera", CameraCommand(), roles=STUDENT)
async def camera(connection: Connection, message: dict[str, Any]) -> dict[str, Any]:
    """Whether the scanner's camera opened (or why not), for the dashboard; only about the session joined here."""
    if message["session"] != connection.joined_session:
        raise refusal("NOT_JOINED")
    await camera_reports.save(connection.app[VALKEY], message["session"], connection.user.id, message["state"])
    await announce.camera(connection.app[EVENTS], message["session"], user_id=connection.user.id,
                          state=message["state"])
    return {}
