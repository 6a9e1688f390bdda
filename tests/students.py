"""READY students for the attendance tests, through the real device path.

A student is READY when a device login left a session key in Valkey (SPEC
§3.2). Each one here enrolls a software passkey and logs it in over HTTP,
so the session key every scan is sealed with is the one ECDH + HKDF derived
on both sides, exactly as on a phone.
"""

from __future__ import annotations

import dataclasses

from asistencia.client import Authenticator, Device
from asistencia.tokens import User


@dataclasses.dataclass(frozen=True)
class ReadyStudent:
    user: User
    token: str
    session_key: bytes
    device_id: int

    @property
    def id(self) -> int:
        return self.user.id


async def make_ready(client, config, user: User, token: str) -> ReadyStudent:
    """Enroll a new phone for `user` and log it in, against `client`'s server."""
    passkey = Authenticator(rp_id=config.webauthn_rp_id, origin=config.webauthn_origin)
    phone = Device(client.session, str(client.make_url("")), token, passkey)
    device = await phone.enroll()
    session = await phone.login()
    return ReadyStudent(user, token, session.key, device["id"])
