"""Class sessions (SPEC §3.3): create, list, read, close and finalise, auto-close, reset, fraud."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re

import pytest

from asistencia.client import RequestRefused
from asistencia.domain.join_code import ALPHABET
from tests.classroom import PROFESSOR_ID, open_session, projector, scanner, sighting
from tests.helpers import bearer, error_of


@pytest.fixture
def prof(token):
    return token("profesor", user_id=PROFESSOR_ID, username="profesora@usm.cl", full_name="Profesora Contreras")


@pytest.fixture
def fast(config):
    return config.replace(countdown_seconds=0, qr_tick_ms=40, qr_min_pool=4, auto_close_interval_seconds=0.1)


async def test_create_with_defaults(client, prof, pg):
    session = await open_session(client, prof)
    assert re.fullmatch(f"[{ALPHABET}]{{6}}", session["join_code"])
    assert session | {"id": 1} == session | {
        "id": 1, "professor_id": PROFESSOR_ID, "course_code": "INF-239", "course_name": "Bases de Datos",
        "room": "", "semester": "", "block": "", "rounds": 3, "duration_minutes": 15, "late_after_minutes": None,
        "allowed_networks": [], "status": "active", "open": True, "closed_at": None, "closed_by": None,
        "counters": {"joined": 0, "in_progress": 0, "present": 0, "late": 0, "doubtful": 0, "justified": 0, "failed": 0,
                     "absent": 0, "version": 0}}
    created, ends = (dt.datetime.fromisoformat(session[k]) for k in ("created_at", "ends_at"))
    assert ends - created == dt.timedelta(minutes=15)
    with pg.cursor() as cur:
        cur.execute("SELECT role, full_name FROM users WHERE id = %s", (PROFESSOR_ID,))
        assert cur.fetchone() == ("profesor", "Profesora Contreras")


async def test_create_with_every_field(client, prof):
    session = await open_session(client, prof, room=" A-201 ", semester="2026-2", block="3-4", rounds=5,
                                 duration_minutes=90, late_after_minutes=10,
                                 allowed_networks=["10.1.2.3/16", "2001:db8::1", "192.168.0.0/24"])
    assert (session["room"], session["rounds"], session["duration_minutes"], session["late_after_minutes"]) == \
        ("A-201", 5, 90, 10)
    assert session["allowed_networks"] == ["10.1.0.0/16", "2001:db8::1/128", "192.168.0.0/24"]


@pytest.mark.parametrize(("body", "field"), [
    ({"course_code": "X"}, "course_name"),
    ({"course_code": "X", "course_name": "   "}, "course_name"),
    ({"course_code": "X", "course_name": "Y", "rounds": 11}, "rounds"),
    ({"course_code": "X", "course_name": "Y", "rounds": "3"}, "rounds"),
    ({"course_code": "X", "course_name": "Y", "duration_minutes": 0}, "duration_minutes"),
    ({"course_code": "X", "course_name": "Y", "allowed_networks": ["10.0.0.0/33"]}, "allowed_networks"),
    ({"course_code": "X", "course_name": "Y", "colour": "red"}, "colour"),
])
async def test_create_refuses_bad_input(client, prof, body, field, pg):
    response = await client.post("/api/sessions", json=body, headers=bearer(prof))
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "VALIDATION_FAILED" and field in error["fields"]
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM class_sessions")
        assert cur.fetchone() == (0,)


async def test_only_staff_create_and_see_sessions(client, token):
    student = token("alumno", user_id=5)
    response = await client.post("/api/sessions", json={"course_code": "X", "course_name": "Y"},
                                 headers=bearer(student))
    assert await error_of(response) == (403, "ROLE_FORBIDDEN")
    assert await error_of(await client.get("/api/sessions")) == (401, "TOKEN_MISSING")


async def test_professors_see_only_their_own_sessions_admins_see_all(client, prof, token):
    other = token("profesor", user_id=2002)
    admin = token("admin", user_id=1)
    mine = await open_session(client, prof, course_code="MINE")
    theirs = await open_session(client, other, course_code="THEIRS")
    listed = await (await client.get("/api/sessions", headers=bearer(prof))).json()
    assert [s["id"] for s in listed["sessions"]] == [mine["id"]]
    everyone = await (await client.get("/api/sessions", headers=bearer(admin))).json()
    assert [s["id"] for s in everyone["sessions"]] == [theirs["id"], mine["id"]]
    response = await client.get(f"/api/sessions/{theirs['id']}", headers=bearer(prof))
    assert await error_of(response) == (404, "SESSION_NOT_FOUND")
    for path in (f"/api/sessions/{theirs['id']}/close", f"/api/sessions/{theirs['id']}/students/5/reset"):
        assert await error_of(await client.post(path, headers=bearer(prof))) == (404, "SESSION_NOT_FOUND")
    response = await client.get(f"/api/sessions/{theirs['id']}/fraud", headers=bearer(prof))
    assert await error_of(response) == (404, "SESSION_NOT_FOUND")
    assert (await (await client.get(f"/api/sessions/{theirs['id']}", headers=bearer(admin))).json())["id"] == \
        theirs["id"]
    response = await client.get("/api/sessions/abc", headers=bearer(prof))
    assert await error_of(response) == (400, "VALIDATION_FAILED")


async def test_list_filters_by_status(client, prof):
    first = await open_session(client, prof)
    second = await open_session(client, prof)
    await client.post(f"/api/sessions/{first['id']}/close", headers=bearer(prof))
    active = await (await client.get("/api/sessions?status=active", headers=bearer(prof))).json()
    closed = await (await client.get("/api/sessions?status=closed&limit=5", headers=bearer(prof))).json()
    assert [s["id"] for s in active["sessions"]] == [second["id"]]
    assert [s["id"] for s in closed["sessions"]] == [first["id"]]
    response = await client.get("/api/sessions?status=open", headers=bearer(prof))
    assert await error_of(response) == (400, "VALIDATION_FAILED")


async def test_join_codes_are_unique_among_draft_and_active_sessions(client, prof, pg):
    sessions = await asyncio.gather(*(open_session(client, prof, open=bool(i % 2)) for i in range(30)))
    assert len({s["join_code"] for s in sessions}) == 30
    with pg.cursor() as cur:
        cur.execute("INSERT INTO class_sessions (professor_id, course_code, course_name, join_code, status, "
                    "opened_at) VALUES (%s, 'X', 'Y', %s, 'draft', NULL) RETURNING id", (PROFESSOR_ID, "ZZZZZZ"))
        with pytest.raises(Exception, match="class_sessions_current_join_code"):
            cur.execute("INSERT INTO class_sessions (professor_id, course_code, course_name, join_code, ends_at) "
                        "VALUES (%s, 'X', 'Y', %s, now())", (PROFESSOR_ID, "ZZZZZZ"))


def _outcomes(pg) -> dict[int, tuple]:
    with pg.cursor() as cur:
        cur.execute("SELECT r.user_id, o.computed_status, o.status, o.rounds_completed FROM outcomes o "
                    "JOIN registrations r ON r.id = o.registration_id")
        return {row[0]: row[1:] for row in cur.fetchall()}


async def _class_with_every_fate(client, prof, ready_student):
    """101 completes, 102 only joins, 103 fails its attempts, 104 joins and gets a professor's JUSTIFIED."""
    session = await open_session(client, prof, rounds=1)
    phones = {}
    for user_id in (101, 102, 103, 104):
        phones[user_id] = scanner(client, await ready_student(user_id))
        await phones[user_id].join(session["join_code"])
    async with projector(client, prof, session["id"]) as screen:
        assert (await phones[101].answer(await sighting(phones[101], screen)))["result"] == "completed"
        seen = await sighting(phones[103], screen)
    for _ in range(3):
        with pytest.raises(RequestRefused):
            await phones[103].submit(seen.text, phones[103].proof_for(seen.payload, round_=2))
    response = await client.patch(f"/api/sessions/{session['id']}/attendance/104", headers=bearer(prof),
                                  json={"status": "JUSTIFIED", "note": "certificado médico"})
    assert response.status == 200, await response.text()
    return session


async def test_close_finalises_every_registration_once(make_client, fast, prof, ready_student, pg):
    client = await make_client(fast)
    session = await _class_with_every_fate(client, prof, ready_student)
    completed = _outcomes(pg)[101]
    closes = await asyncio.gather(*(client.post(f"/api/sessions/{session['id']}/close", headers=bearer(prof))
                                    for _ in range(5)))
    bodies = [await response.json() for response in closes]
    assert {response.status for response in closes} == {200}
    assert {(b["status"], b["closed_by"], b["closed_at"]) for b in bodies} == \
        {("closed", "professor", bodies[0]["closed_at"])}
    assert _outcomes(pg) == {101: completed, 102: ("ABSENT", "ABSENT", 0), 103: ("ABSENT", "ABSENT", 0),
                             104: ("ABSENT", "JUSTIFIED", 0)}
    counters = bodies[0]["counters"]
    # 104's override counts them as justified; the close does not move them.
    assert counters["absent"] == 2 and counters["justified"] == 1
    assert counters["in_progress"] == counters["failed"] == 0
    assert counters[completed[0].lower()] == 1 and counters["joined"] == 4
    assert not bodies[0]["open"]


async def test_sessions_past_their_end_close_themselves_exactly_once(make_client, fast, prof, ready_student, pg):
    """Two server instances run the auto-close loop; the session closes once and both see one `closed`."""
    first = await make_client(fast)
    second = await make_client(fast)
    session = await open_session(first, prof)
    await scanner(first, await ready_student(101)).join(session["join_code"])
    watchers = []
    for client in (first, second):
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "auth", "token": prof})
        await ws.receive_json(timeout=2)
        await ws.send_json({"type": "watch", "id": 1, "session": session["id"]})
        await ws.receive_json(timeout=2)
        watchers.append(ws)
    with pg.cursor() as cur:
        cur.execute("UPDATE class_sessions SET ends_at = now() - interval '1 second'")

    async def closed_events(ws):
        events = []
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                message = await ws.receive_json(timeout=1.0)
                events.append(message["event"])
        return events

    for events in await asyncio.gather(*(closed_events(ws) for ws in watchers)):
        assert events.count("closed") == 1, events
    with pg.cursor() as cur:
        cur.execute("SELECT status, closed_by FROM class_sessions")
        assert cur.fetchall() == [("closed", "timer")]
    assert _outcomes(pg) == {101: ("ABSENT", "ABSENT", 0)}
    for ws in watchers:
        await ws.close()


async def test_reset_gives_a_failed_student_new_attempts_and_a_fresh_code(make_client, fast, prof, ready_student,
                                                                          token, pg):
    client = await make_client(fast)
    session = await open_session(client, prof, rounds=1)
    phone = scanner(client, await ready_student(101))
    await phone.join(session["join_code"])
    base = f"/api/sessions/{session['id']}/students"
    assert await error_of(await client.post(f"{base}/555/reset", headers=bearer(prof))) == (404, "NOT_JOINED")
    async with projector(client, prof, session["id"]) as screen:
        seen = await sighting(phone, screen)
        for _ in range(3):
            with pytest.raises(RequestRefused):
                await phone.submit(seen.text, phone.proof_for(seen.payload, round_=2))
        assert (await phone.status())["state"] == "failed"
        response = await client.post(f"{base}/101/reset", headers=bearer(prof))
        assert response.status == 200
        body = await response.json()
        assert (body["user_id"], body["state"], body["round_failures"], body["failures"]) == (101, "scanning", 0, 3)
        fresh = await sighting(phone, screen)
        assert fresh.payload.nonce != seen.payload.nonce
        assert (await phone.answer(fresh))["result"] == "completed"
    with pg.cursor() as cur:
        cur.execute("SELECT actor_id, round FROM registration_resets")
        assert cur.fetchall() == [(PROFESSOR_ID, 1)]
    assert await error_of(await client.post(f"{base}/101/reset", headers=bearer(prof))) == \
        (409, "ALREADY_COMPLETED")
    await client.post(f"/api/sessions/{session['id']}/close", headers=bearer(prof))
    assert await error_of(await client.post(f"{base}/101/reset", headers=bearer(prof))) == (422, "SESSION_CLOSED")


async def test_fraud_counters_by_type_and_student(make_client, fast, prof, ready_student, pg):
    client = await make_client(fast)
    session = await open_session(client, prof)
    phones = [scanner(client, await ready_student(user_id)) for user_id in (101, 102)]
    for phone in phones:
        await phone.join(session["join_code"])
    async with projector(client, prof, session["id"]) as screen:
        mine = await sighting(phones[0], screen)
        theirs = await sighting(phones[1], screen)
    for text, proof in ((theirs.text, phones[0].proof_for(mine.payload)),
                        (mine.text, phones[0].proof_for(mine.payload, round_=3)),
                        (theirs.text, phones[0].proof_for(mine.payload))):
        with pytest.raises(RequestRefused):
            await phones[0].submit(text, proof)
    await phones[1].answer(theirs)
    with pytest.raises(RequestRefused):
        await phones[1].answer(theirs)
    response = await client.get(f"/api/sessions/{session['id']}/fraud", headers=bearer(prof))
    assert response.status == 200
    fraud = await response.json()
    assert (fraud["session"], fraud["total"]) == (session["id"], 4)
    assert fraud["by_code"] == {"QR_NOT_YOURS": 2, "ROUND_MISMATCH": 1, "QR_ALREADY_USED": 1}
    assert [(s["user_id"], s["total"], s["by_code"]) for s in fraud["students"]] == [
        (101, 3, {"QR_NOT_YOURS": 2, "ROUND_MISMATCH": 1}), (102, 1, {"QR_ALREADY_USED": 1})]
    assert all(s["username"] and s["last_at"].endswith("Z") for s in fraud["students"])
