"""Device-login session keys in Valkey (SPEC §3.2): one per student, 2 h by default.

Keyed by user so a new login replaces the old one; revoking the device
deletes it. The key bytes never leave the server except through ECDH.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence

from asistencia.crypto import b64url_decode, b64url_encode
from asistencia.valkey import Valkey


@dataclasses.dataclass(frozen=True)
class SessionKey:
    user_id: int
    device_id: int
    credential_id: str  # base64url, as the browser reports it
    key: bytes
    expires_at: float  # unix seconds


def _key(vk: Valkey, user_id: int) -> str:
    return vk.key("session_key", user_id)


async def save(vk: Valkey, session_key: SessionKey) -> None:
    ttl = max(1, int(session_key.expires_at - time.time()))
    value = json.dumps({"device_id": session_key.device_id, "credential_id": session_key.credential_id,
                        "key": b64url_encode(session_key.key), "expires_at": session_key.expires_at})
    await vk.client.set(_key(vk, session_key.user_id), value, ex=ttl)


async def load(vk: Valkey, user_id: int) -> SessionKey | None:
    return _parse(user_id, await vk.client.get(_key(vk, user_id)))


async def load_many(vk: Valkey, user_ids: Sequence[int]) -> list[SessionKey | None]:
    """`load` for each user, in one command (none for no users)."""
    if not user_ids:
        return []
    raws = await vk.client.mget([_key(vk, user_id) for user_id in user_ids])
    return [_parse(user_id, raw) for user_id, raw in zip(user_ids, raws, strict=True)]


def _parse(user_id: int, raw: bytes | None) -> SessionKey | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return SessionKey(user_id=user_id, device_id=data["device_id"], credential_id=data["credential_id"],
                      key=b64url_decode(data["key"]), expires_at=data["expires_at"])


async def delete(vk: Valkey, user_id: int) -> None:
    await vk.client.delete(_key(vk, user_id))
