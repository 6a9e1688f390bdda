"""GET /api/access/state: where the student stands and what to do next (see `asistencia.access`)."""

from __future__ import annotations

from aiohttp import web
from marshmallow import Schema, fields, validate

from asistencia import access
from asistencia.api.enrollment import activate_due, device_json
from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.auth import STUDENT, current_user, requires_role
from asistencia.jsoncodec import json_response
from asistencia.openapi import documented
from asistencia.store import devices, session_keys
from asistencia.validation import Text, load_query
from asistencia.valkey import VALKEY


class AccessStateQuery(Schema):
    # The phone asking; without it the answer cannot tell this phone from the enrolled one.
    fingerprint = Text(strip=False, load_default=None, validate=validate.Length(min=1, max=256))


@requires_role(*STUDENT)
@documented(query=AccessStateQuery)
async def state(request: web.Request) -> web.Response:
    """Where the student stands (NOT_ENROLLED, ENROLLED_NO_SESSION, READY, BLOCKED) and the next action."""
    user = current_user(request)
    query = load_query(request, AccessStateQuery())
    await activate_due(request.app, user.id)
    device = await devices.current(request.app[PG_POOL], user.id)
    pending = await devices.pending_of(request.app[PG_POOL], user.id)
    session = await session_keys.load(request.app[VALKEY], request.app[CONFIG].session_key_ring, user.id)
    standing = access.standing(device, session, query["fingerprint"], pending=pending)
    return json_response({
        "state": standing.state,
        "next_action": standing.next_action,
        "reason": standing.reason,
        "device": None if standing.device is None else device_json(standing.device),
        "session_expires_at": None if standing.session is None else int(standing.session.expires_at),
    }, headers={"Cache-Control": "no-store"})
