"""The replies of accepted scans, so an identical resend gets the same reply (SPEC §3.5 step 5).

A phone whose reply was lost (a socket that timed out, a page that
reloaded) sends the very same scan again. It gets the recorded reply,
whenever it comes, with no attempt spent and nothing in the fraud report.
Keyed by session, student and a hash of the QR text and the sealed proof,
so only the identical submission finds it (and only the phone that made the
proof could have made the first one). One key per reply, written with its
expiry in one command: saving is on every accepted scan's path.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

from asistencia import jsoncodec
from asistencia.valkey import Valkey


def fingerprint(qr: str, proof: bytes) -> str:
    return hashlib.sha256(qr.encode() + b"\n" + proof).hexdigest()


def _key(vk: Valkey, session_id: int, user_id: int, submitted: str) -> str:
    return vk.key("scan_reply", session_id, user_id, submitted)


@dataclasses.dataclass(frozen=True)
class Recorded:
    """The reply to the submission `submitted` (a `fingerprint`), kept until `keep_until` (unix s)."""

    session_id: int
    user_id: int
    submitted: str
    reply: dict[str, Any]
    keep_until: int


async def save(vk: Valkey, recorded: Sequence[Recorded]) -> None:
    """Remember each reply: one SET with its expiry apiece, all in one round trip."""
    async with vk.client.pipeline(transaction=False) as pipe:
        for one in recorded:
            pipe.set(_key(vk, one.session_id, one.user_id, one.submitted), jsoncodec.dumps_bytes(one.reply),
                     exat=one.keep_until)
        await pipe.execute()


async def find(vk: Valkey, session_id: int, user_id: int, submitted: str) -> dict[str, Any] | None:
    raw = await vk.client.get(_key(vk, session_id, user_id, submitted))
    return None if raw is None else jsoncodec.loads(raw)
