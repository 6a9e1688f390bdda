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
from asistencia.attendance.refusals import dependencies_required
from asistencia.auth import STUDENT, current_user, requires_role
from asistencia.crypto import b64url_encode
from asistencia.db import transaction
from asistencia.errors import Conflict, NotFound, Refused
from asistencia.jsoncodec import json_response
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


def _phone_in_use() -> Conflict:
    # One phone, one student (SPEC §3.1): refused, not held for approval. A professor
    # approving a phone for a second student would make the exception the rule in a
    # hurry before class; a phone that really changes hands is first revoked by the
    # student who had it (self-service, in seconds), then it enrolls like any other.
    return Conflict("This phone is enrolled for another student; a phone serves one student only. "
                    "Use your own phone, or have the other student revoke it first", code="FINGERPRINT_IN_USE")


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
        "activates_at": _iso(device.activates_at),
    }


@requires_role(*STUDENT)
@documented(body=EnrollmentOptionsRequest, responses={409: "FINGERPRINT_IN_USE: this phone serves another student"})
async def options(request: web.Request) -> web.Response:
    """Passkey creation options for this phone; the challenge is single-use for 5 minutes."""
    user = current_user(request)
    await limits.spend(request.app, limits.passkey_ceremonies(request.app), user.id)
    body = await read_json(request, EnrollmentOptionsRequest())
    async with transaction(request.app[PG_POOL]) as cur:
        if await devices.serves_another(cur, body["fingerprint"], user.id):
            raise _phone_in_use()
    enrolled = [d for d in await devices.of_user(request.app[PG_POOL], user.id) if d.status == "enrolled"]
    challenge = await challenges.issue(request.app[VALKEY], challenges.ENROLLMENT, user.id,
                                       context=body["fingerprint"])
    return json_response(passkeys.creation_options(
        request.app[CONFIG], user, challenge.value, [(d.credential_id, d.transports) for d in enrolled]))


@requires_role(*STUDENT)
@documented(body=EnrollmentVerifyRequest,
            responses={201: "enrolled (other devices revoked), or pending until activates_at when it replaces one"})
async def verify(request: web.Request) -> web.Response:
    """Verify the new passkey and register the phone: enrolled at once if it is the student's
    first (or there is no cool-off), else pending until the cool-off ends or a professor approves."""
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
        if await devices.serves_another(cur, body["fingerprint"], user.id):
            raise _phone_in_use()
        device = await devices.enroll(cur, user.id, registration, body["fingerprint"],
                                      cool_off_hours=request.app[CONFIG].device_cool_off_hours)
    if device is None:
        raise Conflict("This passkey is already registered", code="CREDENTIAL_EXISTS")
    if device.status == "enrolled":
        # The replaced phone's login ends with it (scanning needs a session key).
        await session_keys.delete(vk, user.id)
    return json_response({"device": device_json(device)}, status=201)


async def activate_due(app: web.Application, user_id: int) -> None:
    """Enroll the student's pending phone if its cool-off is over (the replaced phone's login ends)."""
    async with transaction(app[PG_POOL]) as cur:
        replaced = await devices.activate_due(cur, user_id)
    for device_id in replaced:
        await session_keys.delete_for_device(app[VALKEY], user_id, device_id)


@requires_role(*STUDENT)
async def list_devices(request: web.Request) -> web.Response:
    """The student's own devices, newest first, with why each one ended."""
    user = current_user(request)
    await activate_due(request.app, user.id)
    own = await devices.of_user(request.app[PG_POOL], user.id)
    return json_response({"devices": [device_json(d) for d in own]})


@requires_role(*STUDENT)
async def revoke(request: web.Request) -> web.Response:
    """Revoke one of the student's own devices; its login (session key) ends with it.

    The revocation holds once PostgreSQL has it (join and scan accept only the
    active device's key); the key is deleted from Valkey on every call, so a
    revoke that answered 503 is finished by calling it again.
    """
    user = current_user(request)
    device_id = load(DevicePath(), dict(request.match_info))["id"]
    with dependencies_required():
        async with transaction(request.app[PG_POOL]) as cur:
            await devices.revoke(cur, user_id=user.id, actor_id=user.id, reason=devices.BY_OWNER, only=device_id)
        device = await devices.owned(request.app[PG_POOL], user.id, device_id)
        if device is None:
            # Someone else's device and no device at all look the same.
            raise NotFound("No such device", code="DEVICE_NOT_FOUND")
        await session_keys.delete_for_device(request.app[VALKEY], user.id, device_id)
    return json_response({"device": device_json(device)})
