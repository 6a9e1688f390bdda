"""What each student's scanner last said about its camera, per session (issue 11).

A student whose camera is denied or missing otherwise looks like "scanning,
0 rounds" on the dashboard. The phone reports the outcome of opening its
camera; the dashboard shows it. Short-lived by nature (it describes the
phone right now), so it lives in Valkey beside the session's other live
state, kept a day after the last report, never in PostgreSQL.
"""

from __future__ import annotations

from asistencia.valkey import Valkey

# The camera opened; the others are camera.js's CameraError codes.
CAMERA_STATES = ("CAMERA_OK", "CAMERA_DENIED", "CAMERA_NOT_FOUND", "CAMERA_UNSUPPORTED", "CAMERA_BUSY",
                 "CAMERA_FAILED")
KEEP_SECONDS = 86400


def _key(vk: Valkey, session_id: int) -> str:
    return vk.key("camera", session_id)


async def save(vk: Valkey, session_id: int, user_id: int, state: str) -> None:
    key = _key(vk, session_id)
    async with vk.client.pipeline(transaction=True) as pipe:
        pipe.hset(key, str(user_id), state)
        pipe.expire(key, KEEP_SECONDS)
        await pipe.execute()


async def by_student(vk: Valkey, session_id: int) -> dict[int, str]:
    raw = await vk.client.hgetall(_key(vk, session_id))
    return {int(user_id): state.decode() if isinstance(state, bytes) else state for user_id, state in raw.items()}
