"""A classroom for the attendance tests: a professor's session, READY students with
reference scanners, and the projector socket they look at — all through the real endpoints."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from asistencia.client.scanner import Projection, Scanner, Sighting
from tests.helpers import bearer
from tests.students import ReadyStudent

PROFESSOR_ID = 1001


def base_url(client) -> str:
    return str(client.make_url("")).rstrip("/")


async def open_session(client, token: str, **fields) -> dict:
    body = {"course_code": "INF-239", "course_name": "Bases de Datos", **fields}
    response = await client.post("/api/sessions", json=body, headers=bearer(token))
    assert response.status == 201, await response.text()
    return await response.json()


def scanner(client, student: ReadyStudent, **kwargs) -> Scanner:
    return Scanner(client.session, base_url(client), student.token, student.session_key, **kwargs)


@contextlib.asynccontextmanager
async def projector(client, token: str, session_id: int) -> AsyncIterator[Projection]:
    async with Projection.open(client.session, base_url(client), token, session_id) as screen:
        yield screen


async def sighting(scanner: Scanner, screen: Projection, round_: int | None = None,
                   timeout: float = 10.0) -> Sighting:
    """Watch the screen until the scanner sees its code for `round_` (default: its current round)
    on a frame shown from now on."""
    wanted = round_ or scanner.current_round
    since = scanner.clock()

    async def look() -> Sighting:
        async for texts in screen.watch():
            scanner.see(texts)
            if (found := scanner.sighting(wanted)) is not None and found.seen_at >= since:
                return found
        raise AssertionError("the projection ended")

    return await asyncio.wait_for(look(), timeout)


async def foreign_text(scanners: list[Scanner], screen: Projection, timeout: float = 10.0) -> str:
    """A projected text none of `scanners` can open: a decoy (or a student's not in the list)."""

    async def look() -> str:
        async for texts in screen.watch():
            for text in texts:
                if all(s.open(text, round_) is None for s in scanners for round_ in range(1, s.rounds + 1)):
                    return text
        raise AssertionError("the projection ended")

    return await asyncio.wait_for(look(), timeout)
