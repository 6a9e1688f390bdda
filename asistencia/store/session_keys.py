"""Device-login session keys in Valkey (SPEC §3.2): one per student, 2 h by default.

Keyed by user so a new login replaces the old one. The key is stored only
wrapped (AES-256-GCM under a key-encryption key from configuration, with
the student and device as associated data), so a Valkey dump alone yields
no usable key, nor one that works for another student. The device id
beside it lets join and scan refuse a key whose device is no longer the
student's active one, even if its delete was lost.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from asistencia import jsoncodec
from asistencia.crypto import DecryptError, KeyRing, b64url_decode, b64url_encode
from asistencia.valkey import Valkey

# Delete the key only if it is still the given device's (a newer login stays).
_DELETE_FOR_DEVICE = """
local raw = redis.call('GET', KEYS[1])
if raw and tostring(cjson.decode(raw).device_id) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclasses.dataclass(frozen=True)
class SessionKey:
    user_id: int
    device_id: int
    credential_id: str  # base64url, as the browser reports it
    key: bytes
    expires_at: float  # unix seconds


def _key(vk: Valkey, user_id: int) -> str:
    return vk.key("session_key", user_id)


def _context(user_id: int, device_id: int) -> bytes:
    return f"asistencia/session-key/v2|{user_id}|{device_id}".encode()


async def save(vk: Valkey, keys: KeyRing, session_key: SessionKey) -> None:
    ttl = max(1, int(session_key.expires_at - time.time()))
    kid, wrapped = keys.wrap(session_key.key, _context(session_key.user_id, session_key.device_id))
    value = jsoncodec.dumps_bytes({"device_id": session_key.device_id, "credential_id": session_key.credential_id,
                        "kek": kid, "wrapped": b64url_encode(wrapped), "expires_at": session_key.expires_at})
    await vk.client.set(_key(vk, session_key.user_id), value, ex=ttl)


async def load(vk: Valkey, keys: KeyRing, user_id: int) -> SessionKey | None:
    return _parse(keys, user_id, await vk.client.get(_key(vk, user_id)))


async def load_many(vk: Valkey, keys: KeyRing, user_ids: Sequence[int]) -> list[SessionKey | None]:
    """`load` for each user, in one command (none for no users)."""
    if not user_ids:
        return []
    raws = await vk.client.mget([_key(vk, user_id) for user_id in user_ids])
    return [_parse(keys, user_id, raw) for user_id, raw in zip(user_ids, raws, strict=True)]


def _parse(keys: KeyRing, user_id: int, raw: bytes | None) -> SessionKey | None:
    """None for no key, and for one that does not unwrap (a retired KEK, or moved from
    another student's entry): either way the phone has to log in again."""
    if raw is None:
        return None
    data = jsoncodec.loads(raw)
    try:
        key = keys.unwrap(data["kek"], b64url_decode(data["wrapped"]), _context(user_id, data["device_id"]))
    except (DecryptError, KeyError, ValueError):
        return None
    return SessionKey(user_id=user_id, device_id=data["device_id"], credential_id=data["credential_id"],
                      key=key, expires_at=data["expires_at"])


async def delete(vk: Valkey, user_id: int) -> None:
    await vk.client.delete(_key(vk, user_id))


async def delete_for_device(vk: Valkey, user_id: int, device_id: int) -> None:
    """Delete the student's key if it belongs to `device_id` (a revoked device's login ends)."""
    await vk.client.eval(_DELETE_FOR_DEVICE, 1, _key(vk, user_id), str(device_id))
