"""The replies of accepted scans, so an identical resend gets the same reply (SPEC §3.5 step 5).

A phone whose reply was lost (a socket that timed out, a page that
reloaded) sends the very same scan again. It gets the recorded reply,
whenever it comes, with no attempt spent and nothing in the fraud report.
Keyed by session and student; the field is a hash of the QR text and the
sealed proof, so only the identical submission finds it (and only the
phone that made the proof could have made the first one).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from asistencia.valkey import Valkey


def fingerprint(qr: str, proof: bytes) -> str:
    return hashlib.sha256(qr.encode() + b"\n" + proof).hexdigest()


def _key(vk: Valkey, session_id: int, user_id: int) -> str:
    return vk.key("scan_reply", session_id, user_id)


async def save(vk: Valkey, session_id: int, user_id: int, submitted: str, reply: dict[str, Any], *,
               keep_until: int) -> None:
    """Remember `reply` for the submission `submitted` (a `fingerprint`) until `keep_until` (unix s)."""
    key = _key(vk, session_id, user_id)
    async with vk.client.pipeline(transaction=True) as pipe:
        pipe.hset(key, submitted, json.dumps(reply))
        pipe.expireat(key, keep_until)
        await pipe.execute()


async def find(vk: Valkey, session_id: int, user_id: int, submitted: str) -> dict[str, Any] | None:
    raw = await vk.client.hget(_key(vk, session_id, user_id), submitted)
    return None if raw is None else json.loads(raw)
