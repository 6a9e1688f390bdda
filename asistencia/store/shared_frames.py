"""The shared frames of sessions in the shared-frame mode, in Valkey (lua/frames_common.lua
lists the keys), and each session's projection key.

A tick stores the slot's frame (one Lua call, shared by every process that
ticks the session); a scan checks and records one student's answer to a
frame (one Lua call, atomic). The projection key is kept only wrapped under
the key-encryption key (as session keys are), made once per session by
whichever process needs it first.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from importlib import resources

from aiohttp import web
from redis.commands.core import AsyncScript

from asistencia.appkeys import CONFIG
from asistencia.crypto import DecryptError, KeyRing, b64url_decode, b64url_encode
from asistencia.domain.shared_frame import Frame, new_projection_key
from asistencia.valkey import VALKEY, Valkey

_KEY_NAMES = ("frames", "times", "used", "answers", "slot")


def _script_source(name: str) -> str:
    lua = resources.files("asistencia.store") / "lua"
    return (lua / "frames_common.lua").read_text() + "\n" + (lua / f"{name}.lua").read_text()


@dataclasses.dataclass(frozen=True)
class ShownFrame:
    now_ms: int
    text: str
    shown_ms: int  # when the frame goes on screen: the start of its showing


@dataclasses.dataclass(frozen=True)
class Answered:
    shown_ms: int  # the start of the answered frame's showing
    receipt_ms: int
    previous: str  # the student's answer before this one, for the undo

    @property
    def response_ms(self) -> int:
        return max(0, self.receipt_ms - self.shown_ms)


def _key_context(session_id: int) -> bytes:
    return f"asistencia/projection-key/v2|{session_id}".encode()


class SharedFrames:
    def __init__(self, vk: Valkey, key_ring: KeyRing) -> None:
        self._vk = vk
        self._key_ring = key_ring
        client = vk.client
        self._tick: AsyncScript = client.register_script(_script_source("frame_tick"))
        self._consume: AsyncScript = client.register_script(_script_source("frame_consume"))
        self._undo: AsyncScript = client.register_script(_script_source("frame_undo"))

    def keys(self, session_id: int) -> list[str]:
        return [self._vk.key("frames", session_id, name) for name in _KEY_NAMES]

    async def projection_key(self, session_id: int, *, keep_until: int) -> bytes:
        """The session's projection key, made now if no process has made it yet."""
        name = self._vk.key("frames", session_id, "key")
        kid, wrapped = self._key_ring.wrap(new_projection_key(), _key_context(session_id))
        await self._vk.client.set(name, json.dumps({"kek": kid, "wrapped": b64url_encode(wrapped)}), nx=True,
                                  exat=keep_until)
        stored = json.loads(await self._vk.client.get(name))
        try:
            return self._key_ring.unwrap(stored["kek"], b64url_decode(stored["wrapped"]), _key_context(session_id))
        except DecryptError:
            # Wrapped under a key-encryption key no longer configured: the session's phones
            # hold a key nobody can check against any more; a new one replaces it.
            await self._vk.client.delete(name)
            return await self.projection_key(session_id, keep_until=keep_until)

    async def tick(self, session_id: int, candidate: Frame, *, tick_ms: int, showing_offset_ms: int,
                   keep_until: int, forget_after_ms: int) -> ShownFrame:
        now_ms, text, shown_ms = await self._tick(keys=self.keys(session_id), args=[
            tick_ms, showing_offset_ms, keep_until, forget_after_ms, candidate.entry_id, candidate.issued_at,
            candidate.text])
        return ShownFrame(int(now_ms), text.decode(), int(shown_ms))

    async def consume(self, session_id: int, *, entry_id: str, text: str, student: int, expected_round: int,
                      proof_round: int, attempts_left: bool, window_ms: int, round_gap_seconds: int,
                      keep_until: int) -> Answered | str:
        """Check and record a student's answer to a frame: an `Answered`, or the code of the first failed check."""
        reply = await self._consume(keys=self.keys(session_id), args=[
            entry_id, text, student, expected_round, proof_round, "1" if attempts_left else "0", window_ms,
            round_gap_seconds, keep_until])
        if reply[0] != b"OK":
            return reply[0].decode()
        return Answered(int(reply[1]), int(reply[2]), reply[3].decode())

    async def answered_issued_at(self, session_id: int, student: int) -> int | None:
        """`issued_at` of the frame that passed the student's latest round (None before the first)."""
        answer = await self._vk.client.hget(self.keys(session_id)[_KEY_NAMES.index("answers")], str(student))
        return None if answer is None else int(answer.decode().split("|")[1])

    async def undo(self, session_id: int, *, entry_id: str, student: int, previous: str) -> None:
        await self._undo(keys=self.keys(session_id), args=[entry_id, student, previous])

    async def discard(self, session_id: int) -> None:
        """Drop a closed session's frames and projection key."""
        await self._vk.client.unlink(*self.keys(session_id), self._vk.key("frames", session_id, "key"))


SHARED_FRAMES = web.AppKey("shared_frames", SharedFrames)


async def shared_frames_ctx(app: web.Application) -> AsyncIterator[None]:
    app[SHARED_FRAMES] = SharedFrames(app[VALKEY], app[CONFIG].session_key_ring)
    yield
