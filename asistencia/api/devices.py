"""Professors and admins approve a student's new phone (SPEC §3.1): the lost-phone case.

GET /api/devices/pending, POST /api/devices/{id}/approve.
"""

from __future__ import annotations

from aiohttp import web

from asistencia.api.enrollment import DevicePath, device_json
from asistencia.appkeys import PG_POOL
from asistencia.attendance.refusals import dependencies_required
from asistencia.auth import STAFF, current_user, requires_role
from asistencia.db import transaction
from asistencia.errors import NotFound
from asistencia.jsoncodec import json_response
from asistencia.openapi import documented
from asistencia.store import devices, session_keys, users
from asistencia.validation import load
from asistencia.valkey import VALKEY


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat()


@requires_role(*STAFF)
async def pending(request: web.Request) -> web.Response:
    """Every phone waiting to replace a student's enrolled one, oldest first."""
    rows = await devices.pending_replacements(request.app[PG_POOL])
    return json_response({"devices": [
        {"id": row["id"], "user_id": row["user_id"], "username": row["username"], "full_name": row["full_name"],
         "created_at": _iso(row["created_at"]), "activates_at": _iso(row["activates_at"])} for row in rows]},
        headers={"Cache-Control": "no-store"})


@requires_role(*STAFF)
@documented(responses={200: "the device, now enrolled; the phone it replaces is revoked",
                       404: "DEVICE_NOT_PENDING"})
async def approve(request: web.Request) -> web.Response:
    """Let a student's pending phone count now (audited with the approver); the replaced phone is revoked."""
    actor = current_user(request)
    device_id = load(DevicePath(), dict(request.match_info))["id"]
    with dependencies_required():
        async with transaction(request.app[PG_POOL]) as cur:
            await users.remember_in(cur, actor)
            approved = await devices.approve(cur, device_id, actor.id)
        if approved is None:
            raise NotFound("No phone with this id is waiting for approval", code="DEVICE_NOT_PENDING")
        device, replaced = approved
        for old in replaced:
            await session_keys.delete_for_device(request.app[VALKEY], device.user_id, old)
    return json_response({"device": device_json(device)})
