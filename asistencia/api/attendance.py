"""/api/attendance…: a student looks up a join code, joins its session, submits scans, reads their progress."""

from __future__ import annotations

from aiohttp import web

from asistencia.attendance import joining, scanning, schemas
from asistencia.auth import STUDENT, current_user, requires_role
from asistencia.jsoncodec import json_response
from asistencia.openapi import documented
from asistencia.validation import load_query, read_json

_JOIN = schemas.JoinSchema()
_SCAN = schemas.ScanSchema()
_STATUS = schemas.SessionQuery()


@requires_role(*STUDENT)
@documented(body=schemas.JoinSchema)
async def join(request: web.Request) -> web.Response:
    """Join a class session by its code; puts the round-1 QR in the projection."""
    body = await read_json(request, _JOIN)
    return json_response(await joining.join(request.app, current_user(request), request.remote, body["code"]))


@requires_role(*STUDENT)
@documented(query=schemas.JoinSchema)
async def session(request: web.Request) -> web.Response:
    """The class session a join code names (draft, open, closed or cancelled), without joining it or a device login."""
    query = load_query(request, _JOIN)
    return json_response(await joining.lookup(request.app, current_user(request), query["code"]))


@requires_role(*STUDENT)
@documented(body=schemas.ScanSchema)
async def scan(request: web.Request) -> web.Response:
    """Submit a scanned QR with its proof."""
    body = await read_json(request, _SCAN)
    reply = await scanning.scan(request.app, current_user(request), request.remote, session_id=body["session"],
                                qr=body["qr"], proof=body["proof"])
    return json_response(reply)


@requires_role(*STUDENT)
@documented(query=schemas.SessionQuery)
async def status(request: web.Request) -> web.Response:
    """The calling student's own progress in a session."""
    query = load_query(request, _STATUS)
    return json_response(await joining.status(request.app, current_user(request), query["session"]))
