"""Projection and dashboards over the WebSocket (SPEC §3.4, §3.5.6): countdown, frames that
never reveal who is who, fair rotation shared by every screen, live events, a whole class."""

from __future__ import annotations

import asyncio
import json
import random
import time

import aiohttp

from asistencia.attendance import projection
from asistencia.events import EVENTS
from asistencia.store import session_keys
from asistencia.store.qr_pool import QR_POOL, StaleQr
from asistencia.valkey import VALKEY
from asistencia.ws import const
from tests.classroom import PROFESSOR_ID, open_session, projector, scanner, sighting
from tests.helpers import bearer


def _fast(config, **changes):
    return config.replace(**{"countdown_seconds": 0, "qr_tick_ms": 40, "qr_min_pool": 4, **changes})


async def _socket(client, token: str):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": token})
    assert (await ws.receive_json(timeout=2))["type"] == "auth_ok"
    return ws


async def _until(ws, predicate, timeout: float = 10.0) -> list[dict]:
    """Messages received until one satisfies `predicate` (included)."""
    seen = []

    async def read():
        while True:
            message = await ws.receive_json()
            seen.append(message)
            if predicate(message):
                return seen

    return await asyncio.wait_for(read(), timeout)


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_projector_counts_down_then_sends_frames_of_ciphertext_only(make_client, config, token, ready_student):
    client = await make_client(_fast(config, countdown_seconds=1, qr_per_frame=2))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof)
    student = await ready_student(101)
    one = scanner(client, student)
    await one.join(session["join_code"])
    ws = await _socket(client, prof)
    started = time.monotonic()
    await ws.send_json({"type": "project", "id": 1, "session": session["id"]})
    result = await ws.receive_json(timeout=2)
    assert result["type"] == "result" and result["id"] == 1
    assert result["data"]["session"]["join_code"] == session["join_code"]
    assert result["data"]["session"]["counters"]["joined"] == 1
    assert (result["data"]["tick_ms"], result["data"]["per_frame"], result["data"]["countdown_seconds"]) == (40, 2, 1)
    assert await ws.receive_json(timeout=2) == {"type": "countdown", "session": session["id"], "seconds_left": 1}
    messages = [await ws.receive_json(timeout=2) for _ in range(20)]
    assert time.monotonic() - started >= 1.0
    assert [m["seq"] for m in messages] == list(range(1, 21))
    texts = set()
    for frame in messages:
        assert set(frame) == {"type", "session", "seq", "qrs", "time_left_ms"} and frame["type"] == "frame"
        assert len(frame["qrs"]) == 2 and len(set(frame["qrs"])) == 2
        assert all(len(text) == 75 for text in frame["qrs"])
        assert 0 < frame["time_left_ms"] <= 15 * 60 * 1000
        texts |= set(frame["qrs"])
    # Every showing projects a text of its own. One student among decoys: the pool is padded to
    # four, two shown per frame, so the student's one code is on every other frame.
    assert len(texts) == 40
    mine = [payload for text in texts if (payload := one.open(text, 1)) is not None]
    assert len(mine) == 10 and len(set(mine)) == 1
    # Outside the codes (random-looking base45, where "101" turns up by chance), nothing names the student.
    raw = json.dumps([{**frame, "qrs": None} for frame in messages] + [result])
    assert "101" not in raw and "rut-101" not in raw
    assert not _keys(messages + [result]) & {"user_id", "username", "students", "owner", "professor_id"}
    await ws.close()


async def test_project_and_watch_are_for_the_sessions_owner(client, token):
    prof = token("profesor", user_id=PROFESSOR_ID)
    other = await open_session(client, token("profesor", user_id=2002))
    for command in ("project", "watch"):
        for session_id in (other["id"], 999):
            ws = await _socket(client, prof)
            await ws.send_json({"type": command, "id": 1, "session": session_id})
            message = await ws.receive(timeout=2)
            assert message.type == aiohttp.WSMsgType.CLOSE and ws.close_code == const.CLOSE_UNKNOWN_SESSION
            await ws.close()
    ws = await _socket(client, token("alumno", user_id=5))
    await ws.send_json({"type": "project", "id": 1, "session": other["id"]})
    await ws.receive(timeout=2)
    assert ws.close_code == const.CLOSE_FORBIDDEN
    await ws.close()
    ws = await _socket(client, prof)
    await ws.send_json({"type": "watch", "id": 1, "session": "x"})
    reply = await ws.receive_json(timeout=2)
    assert reply["error"]["code"] == "VALIDATION_FAILED"
    await ws.close()


async def test_an_admin_may_project_any_session_but_not_a_closed_one_and_one_at_a_time(client, token):
    prof = token("profesor", user_id=PROFESSOR_ID)
    admin = token("admin", user_id=1)
    session = await open_session(client, prof)
    closed = await open_session(client, prof)
    await client.post(f"/api/sessions/{closed['id']}/close", headers=bearer(prof))
    ws = await _socket(client, admin)
    await ws.send_json({"type": "project", "id": 1, "session": closed["id"]})
    assert (await ws.receive_json(timeout=2))["error"]["code"] == "SESSION_CLOSED"
    await ws.send_json({"type": "project", "id": 2, "session": session["id"]})
    assert (await ws.receive_json(timeout=2))["type"] == "result"
    await ws.send_json({"type": "watch", "id": 3, "session": session["id"]})
    replies = await _until(ws, lambda m: m.get("id") == 3)
    assert replies[-1]["error"]["code"] == "ALREADY_SUBSCRIBED"
    await ws.close()


async def test_every_screen_of_a_session_shows_the_same_frame(make_client, config, token, ready_student):
    client = await make_client(_fast(config, qr_tick_ms=200))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof)
    for user_id in (101, 102):
        await scanner(client, await ready_student(user_id)).join(session["join_code"])
    screens = [await _socket(client, prof) for _ in range(2)]
    for ws in screens:
        await ws.send_json({"type": "project", "id": 1, "session": session["id"]})
        await ws.receive_json(timeout=2)

    async def record(ws):
        frames = []
        for _ in range(12):
            frame = await ws.receive_json(timeout=2)
            frames.append((time.monotonic(), tuple(frame["qrs"])))
        return frames

    first, second = await asyncio.gather(*(record(ws) for ws in screens))
    matched = sum(any(abs(t - u) < 0.1 and texts == other for u, other in first) for t, texts in second)
    assert matched >= 9, (first, second)
    for ws in screens:
        await ws.close()


async def test_projector_follows_counters_and_close(make_client, config, token, ready_student):
    client = await make_client(_fast(config))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof)
    ws = await _socket(client, prof)
    await ws.send_json({"type": "project", "id": 1, "session": session["id"]})
    await ws.receive_json(timeout=2)
    await scanner(client, await ready_student(101)).join(session["join_code"])
    events = await _until(ws, lambda m: m["type"] == "event")
    assert events[-1] == {"type": "event", "event": "counters",
                          "data": {"session": session["id"], "counters": {
                              "joined": 1, "in_progress": 1, "present": 0, "late": 0, "doubtful": 0, "justified": 0, "failed": 0,
                              "absent": 0, "version": 1}}}
    await client.post(f"/api/sessions/{session['id']}/close", headers=bearer(prof))
    events = await _until(ws, lambda m: m["type"] == "event" and m["event"] == "closed")
    closed = events[-1]["data"]
    assert closed["closed_by"] == "professor" and closed["counters"]["absent"] == 1
    assert not _keys(events) & {"user_id", "username", "student"}
    # No frame after `closed`; the socket stays usable.
    await ws.send_json({"type": "ping", "id": 9})
    assert (await _until(ws, lambda m: m.get("id") == 9))[0]["type"] == "result"
    await ws.close()


async def test_a_class_completes_from_frames_read_off_a_real_projector(make_client, config, token, ready_student, pg):
    """Eight phones with human answer times (0.4–0.6 s) in front of one screen; a dashboard watches."""
    client = await make_client(_fast(config, qr_tick_ms=50, qr_min_pool=20))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof, rounds=3)
    dashboard = await _socket(client, prof)
    await dashboard.send_json({"type": "watch", "id": 1, "session": session["id"]})
    snapshot = await dashboard.receive_json(timeout=2)
    assert snapshot["data"]["students"] == [] and snapshot["data"]["session"]["id"] == session["id"]
    rng = random.Random(7)
    phones = [scanner(client, await ready_student(200 + i), answer_delay=lambda: rng.uniform(0.4, 0.6))
              for i in range(8)]
    for phone in phones:
        await phone.join(session["join_code"])
    async with projector(client, prof, session["id"]) as screen:
        replies = await asyncio.wait_for(asyncio.gather(*(phone.run(screen.watch()) for phone in phones)), 60)
    assert [r["result"] for r in replies] == ["completed"] * 8
    assert {r["status"] for r in replies} == {"PRESENT"}
    with pg.cursor() as cur:
        cur.execute("SELECT count(*), min(response_ms), max(response_ms) FROM rounds")
        count, fastest, slowest = cur.fetchone()
        assert count == 24 and 350 <= fastest and slowest < 2000
        cur.execute("SELECT state, count(*) FROM registrations GROUP BY state")
        assert cur.fetchall() == [("completed", 8)]
        cur.execute("SELECT status, certainty >= 70, rounds_completed FROM outcomes")
        assert set(cur.fetchall()) == {("PRESENT", True, 3)}
    events = await _until(dashboard, lambda m: m.get("event") == "completed" and
                          m["data"]["counters"]["present"] == 8, timeout=5)
    names = [m["event"] for m in events if m["type"] == "event"]
    assert names.count("joined") == 8 and names.count("round_passed") == 16 and names.count("completed") == 8
    joined = next(m for m in events if m.get("event") == "joined")["data"]
    assert joined["student"]["username"].startswith("rut-") and joined["counters"]["joined"] >= 1
    await dashboard.close()


async def test_dashboard_gets_failures_resets_and_a_fresh_snapshot_on_resync(make_client, config, token,
                                                                             ready_student):
    client = await make_client(_fast(config))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof)
    phone = scanner(client, await ready_student(101))
    await phone.join(session["join_code"])
    dashboard = await _socket(client, prof)
    await dashboard.send_json({"type": "watch", "id": 1, "session": session["id"]})
    snapshot = (await dashboard.receive_json(timeout=2))["data"]
    assert [s["user_id"] for s in snapshot["students"]] == [101]
    async with projector(client, prof, session["id"]) as screen:
        seen = await sighting(phone, screen)
        for _ in range(3):
            response = await client.post("/api/attendance/scan", json={
                "session": session["id"], "qr": seen.text, "proof": phone.proof_for(seen.payload, round_=2)},
                headers=bearer(phone.token))
            assert response.status == 422
    events = await _until(dashboard, lambda m: m.get("event") == "failed")
    failures = [m["data"] for m in events if m.get("event") == "scan_failed"]
    assert [(f["code"], f["counted"], f["attempts_left"]) for f in failures] == [
        ("ROUND_MISMATCH", True, 2), ("ROUND_MISMATCH", True, 1), ("ROUND_MISMATCH", True, 0)]
    assert events[-1]["data"]["counters"]["failed"] == 1
    student_ws = await _socket(client, phone.token)
    await student_ws.send_json({"type": "join", "id": 1, "code": session["join_code"]})
    assert (await student_ws.receive_json(timeout=2))["data"]["state"] == "failed"
    response = await client.post(f"/api/sessions/{session['id']}/students/101/reset", headers=bearer(prof))
    assert response.status == 200 and (await response.json())["state"] == "scanning"
    reset = (await _until(dashboard, lambda m: m.get("event") == "reset"))[-1]["data"]
    assert (reset["user_id"], reset["round"], reset["counters"]["in_progress"]) == (101, 1, 1)
    assert (await student_ws.receive_json(timeout=2)) == {"type": "event", "event": "reset",
                                                          "data": {"session": session["id"], "round": 1}}
    # A lost pub/sub connection ends in a resync: the dashboard gets a whole new snapshot.
    client.app[EVENTS]._resync_all()
    fresh = (await _until(dashboard, lambda m: m.get("event") == "snapshot"))[-1]["data"]
    assert fresh["students"][0]["state"] == "scanning" and fresh["fraud"]["by_code"] == {"ROUND_MISMATCH": 3}
    await client.post(f"/api/sessions/{session['id']}/close", headers=bearer(prof))
    assert (await _until(student_ws, lambda m: m.get("event") == "closed"))[-1]["data"]["closed_by"] == "professor"
    await dashboard.close()
    await student_ws.close()


async def test_stale_codes_are_reissued_with_a_new_nonce_or_withdrawn_without_a_session_key(
        make_client, config, token, ready_student):
    client = await make_client(_fast(config))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof)
    for user_id in (101, 102):
        await scanner(client, await ready_student(user_id)).join(session["join_code"])
    app, pool = client.app, client.app[QR_POOL]
    before = {user_id: await pool.live_entry(session["id"], user_id) for user_id in (101, 102)}
    await session_keys.delete(app[VALKEY], 102)  # that phone logged out
    row = await projection.session_row(app, session["id"])
    await projection.reissue(app, row, [StaleQr(before[user_id], user_id, 1) for user_id in (101, 102)])
    reissued = await pool.live_entry(session["id"], 101)
    assert reissued is not None and reissued != before[101]
    assert await pool.live_entry(session["id"], 102) is None
    await projection.reissue(app, row, [])  # nothing stale: no Valkey call to fail on


async def test_a_projector_whose_frames_stop_is_closed_so_it_reconnects(make_client, config, token, monkeypatch):
    client = await make_client(_fast(config))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof)
    ws = await _socket(client, prof)
    await ws.send_json({"type": "project", "id": 1, "session": session["id"]})
    await _until(ws, lambda message: message["type"] == "frame")

    async def broken(app, session):
        raise RuntimeError("a bug in a tick")

    monkeypatch.setattr(projection, "next_frame", broken)

    async def closed() -> None:
        while (await ws.receive()).type != aiohttp.WSMsgType.CLOSE:
            pass

    await asyncio.wait_for(closed(), 5)
    assert ws.close_code == const.CLOSE_INTERNAL_ERROR
    monkeypatch.undo()
    again = await _socket(client, prof)
    await again.send_json({"type": "project", "id": 1, "session": session["id"]})
    await _until(again, lambda message: message["type"] == "frame")
    await again.close()
