"""Device login (SPEC §3.2): a passkey assertion that vouches for the phone's
ephemeral ECDH key, and a session key both sides derive without sending it.

POST /api/login/options, POST /api/login/verify, DELETE /api/login.
"""

from __future__ import annotations

import time

from aiohttp import web
from marshmallow import Schema, fields

from asistencia import crypto, passkeys
from asistencia.api.enrollment import activate_due
from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.attendance import limits
from asistencia.auth import STUDENT, current_user, requires_role
from asistencia.db import transaction
from asistencia.errors import ApiError, BadRequest, NotFound, Refused
from asistencia.jsoncodec import json_response
from asistencia.openapi import documented
from asistencia.store import challenges, devices, session_keys
from asistencia.validation import Text, read_json
from asistencia.valkey import VALKEY


class LoginOptionsRequest(Schema):
    pass


class LoginVerifyRequest(Schema):
    # Standard WebAuthn JSON, checked by py_webauthn (see enrollment).
    credential = fields.Dict(required=True)
    client_public_key = Text(strip=False, required=True)


def _not_enrolled() -> Refused:
    return Refused("No phone is enrolled for this student; enroll one first", code="NOT_ENROLLED")


def _revoked() -> Refused:
    return Refused("This device was revoked; enroll it again", code="DEVICE_REVOKED")


def _pending() -> Refused:
    return Refused("This phone replaces your enrolled one: it counts once the waiting period is over or a "
                   "professor approves it", code="DEVICE_PENDING")


def _client_key(text: str) -> bytes:
    try:
        raw = crypto.b64url_decode(text)
        crypto.load_public_key_raw(raw)
    except ValueError:
        raise BadRequest("client_public_key must be a base64url raw (uncompressed) P-256 point",
                         code="CLIENT_KEY_INVALID") from None
    return raw


@requires_role(*STUDENT)
@documented(body=LoginOptionsRequest)
async def options(request: web.Request) -> web.Response:
    """Passkey request options for the enrolled phone; `challenge` is the server challenge."""
    user = current_user(request)
    await limits.spend(request.app, limits.passkey_ceremonies(request.app), user.id)
    await read_json(request, LoginOptionsRequest())
    await activate_due(request.app, user.id)
    device = await devices.current(request.app[PG_POOL], user.id)
    if device is None or device.status != "enrolled":
        raise _not_enrolled()
    challenge = await challenges.issue(request.app[VALKEY], challenges.LOGIN, user.id)
    return json_response(passkeys.request_options(
        request.app[CONFIG], challenge.value, [(device.credential_id, device.transports)]))


@requires_role(*STUDENT)
@documented(body=LoginVerifyRequest)
async def verify(request: web.Request) -> web.Response:
    """Verify the assertion over SHA-256(challenge || client_public_key) and derive the session key.

    Replies with the server's ephemeral public key; the key itself never travels.
    """
    user = current_user(request)
    await limits.spend(request.app, limits.passkey_ceremonies(request.app), user.id)
    app = request.app
    config, pool, vk = app[CONFIG], app[PG_POOL], app[VALKEY]
    body = await read_json(request, LoginVerifyRequest())
    client_key = _client_key(body["client_public_key"])
    credential = passkeys.parse_assertion(body["credential"])
    challenge = await challenges.consume(vk, challenges.LOGIN, user.id)

    device = await devices.by_credential(pool, credential.raw_id)
    if device is None or device.user_id != user.id:
        # Another student's credential looks exactly like an unknown one.
        raise NotFound("No device of yours has this credential", code="DEVICE_NOT_FOUND")
    try:
        if device.status == "pending":
            raise _pending()
        if device.status != "enrolled":
            raise _revoked()
        sign_count = passkeys.verify_assertion(config, credential, crypto.login_challenge(challenge.value, client_key),
                                               device.public_key)
    except ApiError as refusal:
        await devices.record_refused_login(pool, device, refusal.code)
        raise

    server_key = crypto.new_ecdh_key()
    expires_at = int(time.time()) + config.session_key_ttl_seconds
    session = session_keys.SessionKey(
        user_id=user.id, device_id=device.id, credential_id=credential.id,
        key=crypto.derive_session_key(server_key, client_key, credential.id), expires_at=expires_at,
    )
    async with transaction(pool) as cur:
        locked = await devices.lock(cur, device.id)
        # Revoked since we read it (a new phone was enrolled meanwhile): its key is not ours to touch.
        if locked.status != "enrolled":
            raise _revoked()
        clone_suspected = passkeys.sign_count_regressed(locked.sign_count, sign_count)
        if clone_suspected:
            await devices.suspect_clone(cur, locked, sign_count)
        else:
            await devices.record_login(cur, locked, sign_count, {"expires_at": expires_at})
            # Saved while the row is locked: a revocation committing meanwhile waits for
            # us, then deletes this key; saved after commit, it could outlive the device.
            await session_keys.save(vk, config.session_key_ring, session)
    if clone_suspected:
        await session_keys.delete(vk, user.id)
        raise Refused("The passkey's counter went backwards: a copy of it is in use elsewhere. "
                      "The device was revoked; enroll this phone again", code="SIGN_COUNT_REGRESSION")
    return json_response({"server_public_key": crypto.b64url_encode(crypto.public_key_raw(server_key)),
                              "expires_at": expires_at})


@requires_role(*STUDENT)
async def logout(request: web.Request) -> web.Response:
    """End the device login: the session key is deleted and scanning stops."""
    await session_keys.delete(request.app[VALKEY], current_user(request).id)
    return web.Response(status=204)
