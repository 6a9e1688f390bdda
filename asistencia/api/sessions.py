"""/api/sessions…: class sessions for professors (admins see every session)."""

from __future__ import annotations

from aiohttp import web

from asistencia.attendance import schemas, sessions
from asistencia.auth import STAFF, current_user, requires_role
from asistencia.jsoncodec import json_response
from asistencia.openapi import documented
from asistencia.validation import load, load_query, read_json

_CREATE = schemas.CreateSessionSchema()
_EDIT_DRAFT = schemas.CreateSessionSchema(partial=True, exclude=("request_id", "open"))
_CANCEL = schemas.CancelSessionSchema()
_LIST = schemas.ListSessionsQuery()
_SESSION = schemas.SessionPath()
_STUDENT = schemas.StudentPath()


@requires_role(*STAFF)
@documented(body=schemas.CreateSessionSchema,
            responses={201: "created", 200: "already made with this request_id (nothing new)"})
async def create(request: web.Request) -> web.Response:
    """Open a class session, or save it as a draft with `"open": false` (returns it with its join code)."""
    body = await read_json(request, _CREATE)
    session, opened = await sessions.create(request.app, current_user(request), body)
    return json_response(session, status=201 if opened else 200)


@requires_role(*STAFF)
@documented(query=schemas.ListSessionsQuery)
async def list_sessions(request: web.Request) -> web.Response:
    """List own class sessions, newest first (admins: everyone's); filter by state, course, professor, day."""
    query = load_query(request, _LIST)
    found = await sessions.list_visible(request.app, current_user(request), **query)
    return json_response({"sessions": found})


@requires_role(*STAFF)
async def read(request: web.Request) -> web.Response:
    """Read one class session with its live counters."""
    path = load(_SESSION, dict(request.match_info))
    return json_response(await sessions.read(request.app, current_user(request), path["id"]))


@requires_role(*STAFF)
@documented(body=schemas.CreateSessionSchema,
            responses={200: "the draft as changed", 409: "opened, closed or cancelled: not a draft any more"})
async def edit_draft(request: web.Request) -> web.Response:
    """Change a draft before class: any field of the creation body but `request_id` and `open`, each optional."""
    path = load(_SESSION, dict(request.match_info))
    changes = await read_json(request, _EDIT_DRAFT)
    return json_response(await sessions.edit_draft(request.app, current_user(request), path["id"], changes))


@requires_role(*STAFF)
@documented(responses={200: "opened (or already open: unchanged)", 409: "closed or cancelled: not openable"})
async def open_draft(request: web.Request) -> web.Response:
    """Open a draft when class starts: its clock (`opened_at`, `ends_at`, the late threshold) starts now
    and its join code takes joins (idempotent)."""
    path = load(_SESSION, dict(request.match_info))
    return json_response(await sessions.open_draft(request.app, current_user(request), path["id"]))


@requires_role(*STAFF)
async def close(request: web.Request) -> web.Response:
    """Close a class session and finalise every registration (idempotent)."""
    path = load(_SESSION, dict(request.match_info))
    return json_response(await sessions.close(request.app, current_user(request), path["id"]))


@requires_role(*STAFF)
@documented(body=schemas.CancelSessionSchema)
async def cancel(request: web.Request) -> web.Response:
    """Cancel a mistaken class session (active or closed) with a reason; it then counts nowhere (idempotent)."""
    path = load(_SESSION, dict(request.match_info))
    body = await read_json(request, _CANCEL)
    return json_response(await sessions.cancel(request.app, current_user(request), path["id"], body["reason"]))


@requires_role(*STAFF)
async def reset_student(request: web.Request) -> web.Response:
    """Give a student new attempts on their current round (audited)."""
    path = load(_STUDENT, dict(request.match_info))
    student = await sessions.reset_student(request.app, current_user(request), path["id"], path["user_id"])
    return json_response(student)


@requires_role(*STAFF)
async def fraud(request: web.Request) -> web.Response:
    """Refused scans of a session by type, and the students involved."""
    path = load(_SESSION, dict(request.match_info))
    return json_response(await sessions.fraud(request.app, current_user(request), path["id"]))
