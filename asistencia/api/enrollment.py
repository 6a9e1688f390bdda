"""Passkey enrollment and the student's own devices (SPEC §3.1).

POST /api/enrollment/options, POST /api/enrollment/verify,
GET /api/enrollment/devices, DELETE /api/enrollment/devices/{id}.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, fields, validate

from asistencia import passkeys
from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.attendance import limits
from asistencia.auth import STUDENT, current_user, requires_role
from asistencia.crypto import b64url_encode
from asistencia.db import transaction
from asistencia.errors import Conflict, NotFound, Refused
from asistencia.openapi import documented
from asistencia.store import challenges, devices, session_keys, users
from asistencia.store.devices import Device
from asistencia.validation import ID_RANGE, Text, load, read_json
from asistencia.valkey import VALKEY

# The client's own identifier for the phone (kept in its storage), as the devices table allows.
Fingerprint = Text(strip=False, required=True, validate=validate.Length(min=1, max=256))


class EnrollmentOptionsRequest(Schema):
    fingerprint = Fingerprint


class EnrollmentVerifyRequest(Schema):
    # Standard WebAuthn JSON; py_webauthn checks its shape, and browsers add
    # fields over time, so it is not held to a closed schema here.
    credential = fields.Dict(required=True)
    fingerprint = Fingerprint


class DevicePath(Schema):
    id = fields.Integer(required=True, strict=False, validate=ID_RANGE)


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat()


def device_json(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "credential_id": b64url_encode(device.credential_id),
        "status": device.status,
        "fingerprint": device.fingerprint,
        "aaguid": device.aaguid,
        "transports": list(device.transports),
        "sign_count": device.sign_count,
        "created_at": _iso(device.created_at),
        "enrolled_at": _iso(device.enrolled_at),
        "revoked_at": _iso(device.revoked_at),
        "revoked_reason": device.revoked_reason,
        "last_login_at": _iso(device.last_login_at),
    }


@requires_role(*STUDENT)
@documented(body=EnrollmentOptionsRequest)
async def options(request: web.Request) -> web.Response:
    """Passkey creation options for this phone; the challenge is single-use for 5 minutes."""
    user = current_user(request)
    await limits.spend(request.app, limits.passkey_ceremonies(request.app), user.id)
    body = await read_json(request, EnrollmentOptionsRequest())
    enrolled = [d for d in await devices.of_user(request.app[PG_POOL], user.id) if d.status == "enrolled"]
    challenge = await challenges.issue(request.app[VALKEY], challenges.ENROLLMENT, user.id,
                                       context=body["fingerprint"])
    return web.json_response(passkeys.creation_options(
        request.app[CONFIG], user, challenge.value, [(d.credential_id, d.transports) for d in enrolled]))


@requires_role(*STUDENT)
@documented(body=EnrollmentVerifyRequest, responses={201: "enrolled; other devices revoked"})
async def verify(request: web.Request) -> web.Response:
    """Verify the new passkey and enroll the phone; the student's other devices are revoked."""
    user = current_user(request)
    await limits.spend(request.app, limits.passkey_ceremonies(request.app), user.id)
    body = await read_json(request, EnrollmentVerifyRequest())
    credential = passkeys.parse_registration(body["credential"])
    vk = request.app[VALKEY]
    challenge = await challenges.consume(vk, challenges.ENROLLMENT, user.id)
    if challenge.context != body["fingerprint"]:
        raise Refused("The options were asked for by another phone (fingerprint differs); ask again from this one",
                      code="FINGERPRINT_MISMATCH")
    registration = passkeys.verify_registration(request.app[CONFIG], credential, challenge.value)
    async with transaction(request.app[PG_POOL]) as cur:
        # The upsert locks the student's row: their concurrent enrollments take turns.
        await users.remember_in(cur, user)
        device = await devices.enroll(cur, user.id, registration, body["fingerprint"])
    if device is None:
        raise Conflict("This passkey is already registered", code="CREDENTIAL_EXISTS")
    # The replaced phone's login ends with it (scanning needs a session key).
    await session_keys.delete(vk, user.id)
    return web.json_response({"device": device_json(device)}, status=201)


@requires_role(*STUDENT)
async def list_devices(request: web.Request) -> web.Response:
    """The student's own devices, newest first, with why each one ended."""
    user = current_user(request)
    own = await devices.of_user(request.app[PG_POOL], user.id)
    return web.json_response({"devices": [device_json(d) for d in own]})


@requires_role(*STUDENT)
async def revoke(request: web.Request) -> web.Response:
    """Revoke one of the student's own devices; its login (session key) ends with it."""
    user = current_user(request)
    device_id = load(DevicePath(), dict(request.match_info))["id"]
    async with transaction(request.app[PG_POOL]) as cur:
        revoked = await devices.revoke(cur, user_id=user.id, actor_id=user.id, reason=devices.BY_OWNER,
                                       only=device_id)
    if revoked:
        await session_keys.delete(request.app[VALKEY], user.id)
    device = await devices.owned(request.app[PG_POOL], user.id, device_id)
    if device is None:
        # Someone else's device and no device at all look the same.
        raise NotFound("No such device", code="DEVICE_NOT_FOUND")
    return web.json_response({"device": device_json(device)})
