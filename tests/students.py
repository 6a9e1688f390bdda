"""READY students for the attendance tests, made in one place.

A student is READY when a device login left a session key in Valkey (SPEC
§3.2). Until the attendance tests go through the real passkey login, this
writes what that login leaves behind: an enrolled device row and a
`SessionKey`. Swap `make_ready` for the real path and every test follows.
"""

from __future__ import annotations

import dataclasses
import os
import time

from asistencia.store import session_keys
from asistencia.tokens import User
from asistencia.valkey import Valkey


@dataclasses.dataclass(frozen=True)
class ReadyStudent:
    user: User
    token: str
    session_key: bytes
    device_id: int

    @property
    def id(self) -> int:
        return self.user.id


async def make_ready(pg, vk: Valkey, user: User, token: str, *, ttl_seconds: int = 3600) -> ReadyStudent:
    with pg.cursor() as cur:
        cur.execute(
            """INSERT INTO users (id, username, full_name, role) VALUES (%s, %s, %s, 'alumno')
               ON CONFLICT (id) DO NOTHING""",
            (user.id, user.username, user.full_name))
        cur.execute(
            """INSERT INTO devices (user_id, credential_id, public_key, fingerprint, status, enrolled_at)
               VALUES (%s, %s, %s, %s, 'enrolled', now()) RETURNING id""",
            (user.id, os.urandom(32), b"placeholder-cose-key", f"test-phone-{user.id}"))
        device_id = cur.fetchone()[0]
    key = os.urandom(32)
    await session_keys.save(vk, session_keys.SessionKey(
        user_id=user.id, device_id=device_id, credential_id=f"cred-{user.id}", key=key,
        expires_at=time.time() + ttl_seconds))
    return ReadyStudent(user, token, key, device_id)
