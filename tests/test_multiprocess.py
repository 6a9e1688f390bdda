"""Three real server processes sharing PostgreSQL and Valkey (SPEC §1): a projector on one,
students joining and scanning on another, a dashboard on the third — everyone sees every
event, and a session past its end is closed by exactly one of them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random

import aiohttp
import pytest

from asistencia.client.scanner import Projection, Scanner
from tests.classroom import PROFESSOR_ID
from tests.helpers import bearer
from tests.processes import ServerProcess, server_env

pytestmark = pytest.mark.multiprocess

STUDENTS = 6


@pytest.fixture
def servers(config, tmp_path):
    env = server_env(config, COUNTDOWN_SECONDS="0", QR_TICK_MS="50", QR_MIN_POOL="12",
                     AUTO_CLOSE_INTERVAL_SECONDS="0.2")
    started = [ServerProcess(env, log_dir=tmp_path).start() for _ in range(3)]
    try:
        for server in started:
            server.wait_healthy()
        yield started
    finally:
        for server in started:
            server.stop()


async def _listen(ws, into: list[dict]) -> None:
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            return
        data = json.loads(message.data)
        if data["type"] == "event":
            into.append(data)


async def _watch(http, url: str, token: str, session_id: int) -> tuple[aiohttp.ClientWebSocketResponse, dict]:
    ws = await http.ws_connect(f"{url}/ws")
    await ws.send_json({"type": "auth", "token": token})
    await ws.receive_json(timeout=5)
    await ws.send_json({"type": "watch", "id": 1, "session": session_id})
    return ws, (await ws.receive_json(timeout=5))["data"]


async def _eventually(check, timeout: float = 10.0) -> None:
    async def poll():
        while not check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def test_projector_students_and_dashboard_on_three_processes(servers, token, ready_student, pg):
    projecting, scanning, watching = servers
    prof = token("profesor", user_id=PROFESSOR_ID)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{projecting.url}/api/sessions", headers=bearer(prof),
                             json={"course_code": "INF-239", "course_name": "Bases de Datos", "rounds": 2}) as r:
            assert r.status == 201
            session = await r.json()
        dashboard_events: list[dict] = []
        dashboard, snapshot = await _watch(http, watching.url, prof, session["id"])
        assert snapshot["session"]["join_code"] == session["join_code"]
        listener = asyncio.create_task(_listen(dashboard, dashboard_events))
        rng = random.Random(3)
        phones = [Scanner(http, scanning.url, s.token, s.session_key, answer_delay=lambda: rng.uniform(0.3, 0.5))
                  for s in [await ready_student(300 + i) for i in range(STUDENTS)]]
        async with Projection.open(http, projecting.url, prof, session["id"]) as screen:
            for phone in phones:
                await phone.join(session["join_code"])
            replies = await asyncio.wait_for(asyncio.gather(*(p.run(screen.watch()) for p in phones)), 60)
            assert [r["result"] for r in replies] == ["completed"] * STUDENTS

            def seen(name: str) -> int:
                return sum(e["event"] == name for e in dashboard_events)

            await _eventually(lambda: seen("completed") == STUDENTS)
            assert (seen("joined"), seen("round_passed")) == (STUDENTS, STUDENTS)
            await _eventually(lambda: any(e["data"]["counters"]["joined"] - e["data"]["counters"]["in_progress"]
                                          == STUDENTS for e in screen.events if e["event"] == "counters"))

            # The session ends; whichever process's timer gets there first closes it, once.
            with pg.cursor() as cur:
                cur.execute("UPDATE class_sessions SET ends_at = now() - interval '1 second' WHERE id = %s",
                            (session["id"],))
            await asyncio.wait_for(screen.closed.wait(), 10)
            await _eventually(lambda: seen("closed") == 1)
            await asyncio.sleep(1.0)  # every timer has run a few more times by now
            assert seen("closed") == 1
            assert sum(e["event"] == "closed" for e in screen.events) == 1
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await dashboard.close()
    with pg.cursor() as cur:
        cur.execute("SELECT status, closed_by FROM class_sessions")
        assert cur.fetchall() == [("closed", "timer")]
        cur.execute("SELECT count(*) FROM outcomes WHERE computed_status IN ('PRESENT', 'LATE', 'DOUBTFUL')")
        assert cur.fetchone() == (STUDENTS,)
    closers = [server for server in servers if "closed by its timer" in server.output()]
    assert len(closers) == 1
