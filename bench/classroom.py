"""A class for the benchmarks, set up through the real endpoints of a running server.

Students are READY the way a phone makes them: a software passkey enrolled
and logged in over HTTP (ECDH + HKDF on both sides), so every scan is sealed
under a key the server derived itself. Nothing here is timed; benchmarks
time what they do with the class afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from asistencia.client import Authenticator, Device
from asistencia.client.scanner import Scanner
from asistencia.config import Config
from asistencia.tokens import mint_token
from bench.lib import BENCH_SECRET, Server

PROFESSOR_ID = 9_000_001
FIRST_STUDENT_ID = 1_000_000
TOKEN_TTL = 4 * 3600
# Enrollment + login is a handful of requests per student; this many at once.
SETUP_CONCURRENCY = 25


def token_for(user_id: int, role: str, username: str | None = None) -> str:
    config = Config(jwt_secret=BENCH_SECRET)
    return mint_token(config, user_id=user_id, username=username or f"user{user_id}", role=role,
                      ttl_seconds=TOKEN_TTL)


def professor_token() -> str:
    return token_for(PROFESSOR_ID, "profesor", "profesor@bench.example")


@dataclasses.dataclass(frozen=True)
class Student:
    id: int
    token: str
    session_key: bytes

    def scanner(self, http: aiohttp.ClientSession, base_url: str, **kwargs: Any) -> Scanner:
        return Scanner(http, base_url, self.token, self.session_key, **kwargs)


async def ready_student(http: aiohttp.ClientSession, base_url: str, user_id: int) -> Student:
    """Enroll a new software passkey for the student and log it in (SPEC §3.1, §3.2)."""
    config = Config()
    token = token_for(user_id, "alumno", f"{user_id}-0")
    phone = Device(http, base_url, token,
                   Authenticator(rp_id=config.webauthn_rp_id, origin=config.webauthn_origin))
    await phone.enroll()
    login = await phone.login()
    return Student(user_id, token, login.key)


async def ready_students(http: aiohttp.ClientSession, base_url: str, count: int,
                         first_id: int = FIRST_STUDENT_ID) -> list[Student]:
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(user_id: int) -> Student:
        async with limit:
            return await ready_student(http, base_url, user_id)

    return list(await asyncio.gather(*(one(first_id + i) for i in range(count))))


async def open_session(http: aiohttp.ClientSession, base_url: str, token: str, **fields: Any) -> dict[str, Any]:
    """A new class session owned by the token's professor; the API's JSON for it."""
    body = {"course_code": "BEN-101", "course_name": "Benchmark", "duration_minutes": 120, **fields}
    async with http.post(f"{base_url}/api/sessions", json=body,
                         headers={"Authorization": f"Bearer {token}"}) as response:
        if response.status != 201:
            raise RuntimeError(f"could not open a session: {response.status} {await response.text()}")
        return await response.json()


def mode_parts(mode: str) -> tuple[str, int]:
    """A projection mode as the benchmarks name it: `per_student:F` (F codes per frame,
    QR_PER_FRAME=F) or `shared` → (the session's projection_mode, codes per frame)."""
    kind, _, per_frame = mode.partition(":")
    return kind, int(per_frame or 1)


async def servers_per_mode(env: dict[str, str], modes: list[str],
                           count: int) -> AsyncIterator[tuple[str, Server, list[Student]]]:
    """A server for each projection mode in turn, on the same database and Valkey, with
    `count` READY students: the class is made READY once, on the first server. Sessions
    for the mode are opened with `session_fields(mode)`."""
    students: list[Student] = []
    for mode in modes:
        kind, per_frame = mode_parts(mode)
        with Server({**env, "QR_PER_FRAME": str(per_frame)}) as server:
            if not students:
                async with aiohttp.ClientSession() as http:
                    students = await ready_students(http, server.url, count)
            yield mode, server, students


def session_fields(mode: str) -> dict[str, Any]:
    """What `open_session` sends to open a session of the benchmark's `mode`."""
    return {"projection_mode": mode_parts(mode)[0]}
