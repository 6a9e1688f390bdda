"""The reference scanner: what a student's phone does in a class session (docs/protocol.md).

It joins by code, looks at every projected frame, silently skips codes it
cannot open (decoys, other students'), and answers its own code for the
round it is on with a proof sealed under its session key. In a session of
the shared-frame mode (docs/protocol.md §8) it unwraps the projection key
the join gave it and answers a frame per round instead, each issued at least
`round_gap_seconds` after the one that passed its previous round. Tests and
benchmarks drive whole classes with it:

    async with aiohttp.ClientSession() as http:
        async with Projection.open(http, base_url, professor_token, session_id) as screen:
            scanner = Scanner(http, base_url, student_token, session_key)
            await scanner.join(join_code)
            reply = await scanner.run(screen.watch())   # {"result": "completed", "status": …}
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from asistencia.client.http import RequestRefused, decoded
from asistencia.crypto import DecryptError
from asistencia.domain.proof import Proof, seal_proof
from asistencia.domain.projection_modes import SHARED
from asistencia.domain.qr_payload import QrPayload, open_qr
from asistencia.domain.shared_frame import next_round_may_answer, open_frame, unwrap_for_student

# Refusals after which scanning this session cannot go on without someone acting.
# Every showing projects a new text; the texts opened lately are kept (a frame
# stays on screen long enough to be decoded more than once).
REMEMBERED_TEXTS = 512

FINAL_REFUSALS = frozenset({"NO_ATTEMPTS_LEFT", "SESSION_CLOSED", "NOT_READY", "NOT_JOINED", "ALREADY_COMPLETED",
                            "NETWORK_NOT_ALLOWED", "PROOF_INVALID", "SESSION_NOT_FOUND"})


@dataclasses.dataclass(frozen=True)
class Sighting:
    """One of our codes, as decoded from the screen."""

    text: str
    payload: QrPayload
    seen_at: float


class Scanner:
    """One student's phone in one class session. `http` belongs to the caller.

    `answer_delay()` is how long (s) the phone takes between seeing its code
    and sending the answer (simulated aiming, decoding, thumbs). `headers`
    go with every request (a test standing in for a proxy sets X-Forwarded-For).
    """

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str, session_key: bytes, *,
                 answer_delay: Callable[[], float] = lambda: 0.0, clock: Callable[[], float] = time.time,
                 headers: dict[str, str] | None = None) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session_key = session_key
        self.answer_delay = answer_delay
        self.clock = clock
        self.extra_headers = headers or {}
        self.session_id: int | None = None
        self.student_id: int | None = None
        self.rounds = 0
        self.current_round = 0
        self.state: str | None = None
        self.replies: list[dict[str, Any]] = []
        self._opened: dict[tuple[str, int], QrPayload | None] = {}
        self._sightings: dict[int, Sighting] = {}
        self.projection_key: bytes | None = None  # shared-frame mode only
        self.round_gap_seconds = 0
        self._answered_issued_at: int | None = None  # the frame that passed the latest round

    @property
    def _headers(self) -> dict[str, str]:
        return {**self.extra_headers, "Authorization": f"Bearer {self.token}"}

    async def join(self, code: str) -> dict[str, Any]:
        async with self.http.post(f"{self.base_url}/api/attendance/join", json={"code": code},
                                  headers=self._headers) as response:
            progress = await decoded(response)
        self._follow(progress)
        return progress

    async def status(self) -> dict[str, Any]:
        async with self.http.get(f"{self.base_url}/api/attendance/status", params={"session": self.session_id},
                                 headers=self._headers) as response:
            progress = await decoded(response)
        self._follow(progress)
        return progress

    def _follow(self, progress: dict[str, Any]) -> None:
        self.session_id = progress["session"]["id"]
        self.student_id = progress["student_id"]
        self.rounds = progress["session"]["rounds"]
        self.current_round = progress["current_round"]
        self.state = progress["state"]
        projection = progress["projection"]
        if projection["mode"] == SHARED and projection["key"] is not None:
            self.projection_key = unwrap_for_student(self.session_key, projection["key"], session_id=self.session_id,
                                                     student_id=self.student_id)
            self.round_gap_seconds = projection["round_gap_seconds"]
            self._answered_issued_at = projection["answered_issued_at"]

    def open(self, text: str, round_: int) -> QrPayload | None:
        """The payload if `text` is a code sealed for this phone, session and round, else None
        (remembered per text and round)."""
        if (text, round_) not in self._opened:
            if len(self._opened) >= REMEMBERED_TEXTS:
                self._opened.clear()
            try:
                self._opened[text, round_] = open_qr(self.session_key, text, session_id=self.session_id,
                                                     student_id=self.student_id, round_=round_)
            except (DecryptError, ValueError):
                self._opened[text, round_] = None
        return self._opened[text, round_]

    def open_frame(self, text: str) -> QrPayload | None:
        """The payload if `text` is a shared frame of this session, else None (remembered per text)."""
        if (text, 0) not in self._opened:
            if len(self._opened) >= REMEMBERED_TEXTS:
                self._opened.clear()
            try:
                self._opened[text, 0] = open_frame(self.projection_key, text, session_id=self.session_id)
            except (DecryptError, ValueError):
                self._opened[text, 0] = None
        return self._opened[text, 0]

    def see(self, texts: list[str]) -> None:
        """Look at one frame: remember our codes of the current round and the next (the next
        one can reach the screen before the current scan's reply), the latest sighting of each;
        in the shared-frame mode, the latest frame that may answer the current round."""
        now = self.clock()
        if self.projection_key is not None:
            for text in texts:
                payload = self.open_frame(text)
                if payload is not None and next_round_may_answer(self._answered_issued_at, payload.issued_at,
                                                                 self.round_gap_seconds):
                    self._sightings[self.current_round] = Sighting(text, payload, now)
            return
        for text in texts:
            for round_ in range(self.current_round, min(self.current_round + 1, self.rounds) + 1):
                payload = self.open(text, round_)
                if payload is not None:
                    self._sightings[round_] = Sighting(text, payload, now)
                    break

    def sighting(self, round_: int) -> Sighting | None:
        """The latest sighting of our code for `round_`, if any."""
        return self._sightings.get(round_)

    def proof_for(self, payload: QrPayload, *, round_: int | None = None) -> str:
        """The proof for one of our codes, or for a shared frame (for the current round)."""
        if round_ is None:
            round_ = self.current_round if self.projection_key is not None else payload.round
        proof = Proof(nonce=payload.nonce, round=round_,
                      client_time=int(self.clock() * 1000))
        return seal_proof(self.session_key, proof, session_id=self.session_id, student_id=self.student_id)

    async def submit(self, text: str, proof: str) -> dict[str, Any]:
        """POST a scan as given (tests use this to send what an honest phone would not)."""
        body = {"session": self.session_id, "qr": text, "proof": proof}
        async with self.http.post(f"{self.base_url}/api/attendance/scan", json=body,
                                  headers=self._headers) as response:
            return await decoded(response)

    async def answer(self, sighting: Sighting) -> dict[str, Any]:
        """Send the answer for one of our codes (or a frame); the sighting is forgotten whatever the reply."""
        answering = self.current_round if self.projection_key is not None else sighting.payload.round
        if self._sightings.get(answering) == sighting:
            del self._sightings[answering]
        reply = await self.submit(sighting.text, self.proof_for(sighting.payload))
        self.replies.append(reply)
        if self.projection_key is not None:
            self._answered_issued_at = sighting.payload.issued_at
        if reply["result"] == "completed":
            self.state = "completed"
            self.current_round = self.rounds
        else:
            self.current_round = reply["next_round"]
        return reply

    async def run(self, frames: AsyncIterator[list[str]]) -> dict[str, Any]:
        """Answer our codes as they appear until every round is done; the final reply.

        RequestRefused when the server refuses in a way more scanning cannot fix
        (`FINAL_REFUSALS`); other refusals (an expired code) just wait for the next.
        """
        async for texts in frames:
            self.see(texts)
            sighting = self._sightings.get(self.current_round)
            if sighting is None:
                continue
            await asyncio.sleep(self.answer_delay())
            try:
                reply = await self.answer(sighting)
            except RequestRefused as refused:
                if refused.code in FINAL_REFUSALS:
                    raise
                continue
            if reply["result"] == "completed":
                return reply
        raise RequestRefused(0, "PROJECTION_ENDED", "the projection ended before every round was done")


class Projection:
    """A projector socket as the class sees it: each `watch()` gets every frame from then on."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, started: dict[str, Any]) -> None:
        self.ws = ws
        self.started = started
        self.frames = 0
        self.events: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self._eyes: list[asyncio.Queue[list[str] | None]] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, http: aiohttp.ClientSession, base_url: str, token: str,
                   session_id: int) -> AsyncIterator[Projection]:
        async with http.ws_connect(f"{base_url.rstrip('/')}/ws") as ws:
            await ws.send_json({"type": "auth", "token": token})
            auth = await ws.receive_json(timeout=10)
            if auth.get("type") != "auth_ok":
                raise RequestRefused(0, "AUTH_FAILED", str(auth))
            await ws.send_json({"type": "project", "id": 1, "session": session_id})
            reply = await ws.receive_json(timeout=10)
            if reply["type"] == "error":
                raise RequestRefused(0, reply["error"]["code"], reply["error"]["message"])
            projection = cls(ws, reply["data"])
            try:
                yield projection
            finally:
                await projection.aclose()

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                data = message.json()
                if data["type"] == "frame":
                    self.frames += 1
                    for eyes in self._eyes:
                        eyes.put_nowait(data["qrs"])
                elif data["type"] == "event":
                    self.events.append(data)
                    if data["event"] == "closed":
                        break
        finally:
            self.closed.set()
            for eyes in self._eyes:
                eyes.put_nowait(None)

    async def watch(self, *, latest: bool = False) -> AsyncIterator[list[str]]:
        """Every frame from now on; with `latest`, only the frame on screen whenever the watcher
        looks again (a phone busy answering does not see the frames it missed meanwhile: the
        benchmarks' phones look at the screen as it is, not at a backlog)."""
        if self.closed.is_set():
            return
        eyes: asyncio.Queue[list[str] | None] = asyncio.Queue()
        self._eyes.append(eyes)
        try:
            while (texts := await eyes.get()) is not None:
                while latest and not eyes.empty():
                    newer = eyes.get_nowait()
                    if newer is None:
                        return
                    texts = newer
                yield texts
        finally:
            self._eyes.remove(eyes)

    async def aclose(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.ws.close()
