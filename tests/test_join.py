"""Joining a class session (SPEC §3.5 step 1) over REST and the WebSocket."""

from __future__ import annotations

import pytest

from asistencia.store import session_keys
from asistencia.store.qr_pool import QrPool
from tests.classroom import PROFESSOR_ID, open_session
from tests.helpers import bearer, error_of


@pytest.fixture
def prof(token):
    return token("profesor", user_id=PROFESSOR_ID)


def _count(pg, sql: str, *params) -> int:
    with pg.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


async def test_join_creates_the_registration_and_the_round_one_qr(client, prof, ready_student, pg, valkey):
    session = await open_session(client, prof, rounds=2)
    student = await ready_student(101)
    response = await client.post("/api/attendance/join", json={"code": session["join_code"].lower()},
                                 headers=bearer(student.token))
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["session"]["id"] == session["id"] and body["session"]["rounds"] == 2
    assert (body["state"], body["current_round"], body["rounds_completed"], body["attempts_left"], body["status"]) \
        == ("scanning", 1, 0, 3, None)
    with pg.cursor() as cur:
        cur.execute("SELECT user_id, device_id, host(origin_ip), state, current_round FROM registrations")
        assert cur.fetchall() == [(101, student.device_id, "127.0.0.1", "scanning", 1)]
    assert await QrPool(valkey).live_entry(session["id"], 101) is not None
    read = await (await client.get(f"/api/sessions/{session['id']}", headers=bearer(prof))).json()
    assert read["counters"] | {"version": 0} == {"joined": 1, "in_progress": 1, "present": 0, "late": 0,
                                                 "doubtful": 0, "justified": 0, "failed": 0, "absent": 0, "version": 0}


async def test_joining_twice_keeps_one_registration_and_one_live_qr(client, prof, ready_student, pg, valkey):
    session = await open_session(client, prof)
    student = await ready_student(101)
    pool = QrPool(valkey)
    await client.post("/api/attendance/join", json={"code": session["join_code"]}, headers=bearer(student.token))
    live = await pool.live_entry(session["id"], 101)
    again = await client.post("/api/attendance/join", json={"code": session["join_code"]},
                              headers=bearer(student.token))
    assert again.status == 200 and (await again.json())["current_round"] == 1
    assert await pool.live_entry(session["id"], 101) == live
    assert _count(pg, "SELECT count(*) FROM registrations") == 1
    live_entries = await valkey.client.hlen(pool.key(session["id"], "live"))
    assert live_entries == 1
    read = await (await client.get(f"/api/sessions/{session['id']}", headers=bearer(prof))).json()
    assert read["counters"]["joined"] == 1


async def test_join_refusals(client, prof, ready_student, token, pg, valkey):
    session = await open_session(client, prof)
    student = await ready_student(101)

    async def join(code, who=student.token, **headers):
        return await error_of(await client.post("/api/attendance/join", json={"code": code},
                                                headers={**bearer(who), **headers}))

    assert await join("ZZZZZZ") == (404, "JOIN_CODE_UNKNOWN")
    assert await join("AB12") == (400, "VALIDATION_FAILED")
    unready = token("alumno", user_id=102)
    assert await join(session["join_code"], unready) == (422, "NOT_READY")
    assert await join(session["join_code"], token("profesor", user_id=5)) == (403, "ROLE_FORBIDDEN")
    await session_keys.delete(valkey, 101)
    assert await join(session["join_code"]) == (422, "NOT_READY")
    await client.post(f"/api/sessions/{session['id']}/close", headers=bearer(prof))
    other = await ready_student(103)
    assert await join(session["join_code"], other.token) == (422, "SESSION_CLOSED")
    assert _count(pg, "SELECT count(*) FROM registrations") == 0


async def test_a_session_past_its_end_refuses_joins_before_the_timer_closes_it(client, prof, ready_student, pg):
    session = await open_session(client, prof)
    with pg.cursor() as cur:
        cur.execute("UPDATE class_sessions SET ends_at = now() - interval '1 second'")
    student = await ready_student(101)
    response = await client.post("/api/attendance/join", json={"code": session["join_code"]},
                                 headers=bearer(student.token))
    assert await error_of(response) == (422, "SESSION_CLOSED")


async def test_allowed_networks_use_the_forwarded_address_from_a_trusted_proxy(client, prof, ready_student, pg):
    session = await open_session(client, prof, allowed_networks=["10.0.0.0/8"])
    outside, inside = await ready_student(101), await ready_student(102)
    refused = await client.post("/api/attendance/join", json={"code": session["join_code"]},
                                headers={**bearer(outside.token), "X-Forwarded-For": "192.168.1.5"})
    assert await error_of(refused) == (403, "NETWORK_NOT_ALLOWED")
    direct = await client.post("/api/attendance/join", json={"code": session["join_code"]},
                               headers=bearer(outside.token))
    assert await error_of(direct) == (403, "NETWORK_NOT_ALLOWED")  # 127.0.0.1 is not in 10/8
    accepted = await client.post("/api/attendance/join", json={"code": session["join_code"]},
                                 headers={**bearer(inside.token), "X-Forwarded-For": "10.20.30.40"})
    assert accepted.status == 200
    with pg.cursor() as cur:
        cur.execute("SELECT user_id, host(origin_ip) FROM registrations")
        assert cur.fetchall() == [(102, "10.20.30.40")]


async def test_status_reports_own_progress(client, prof, ready_student, token):
    session = await open_session(client, prof)
    student = await ready_student(101)
    url = f"/api/attendance/status?session={session['id']}"
    assert await error_of(await client.get(url, headers=bearer(student.token))) == (404, "NOT_JOINED")
    await client.post("/api/attendance/join", json={"code": session["join_code"]}, headers=bearer(student.token))
    status = await (await client.get(url, headers=bearer(student.token))).json()
    assert (status["state"], status["current_round"], status["attempts_left"]) == ("scanning", 1, 3)
    missing = await client.get("/api/attendance/status?session=999", headers=bearer(student.token))
    assert await error_of(missing) == (404, "NOT_JOINED"), "a missing session looks like one not joined"
    bad = await client.get("/api/attendance/status?session=x", headers=bearer(student.token))
    assert await error_of(bad) == (400, "VALIDATION_FAILED")


async def test_join_over_the_websocket(client, prof, ready_student):
    session = await open_session(client, prof)
    student = await ready_student(101)
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": student.token})
        await ws.receive_json(timeout=2)
        await ws.send_json({"type": "join", "id": 1, "code": session["join_code"]})
        reply = await ws.receive_json(timeout=2)
        assert reply["type"] == "result" and reply["id"] == 1
        assert reply["data"]["state"] == "scanning" and reply["data"]["session"]["id"] == session["id"]
        await ws.send_json({"type": "join", "id": 2, "code": "ZZZZZZ"})
        reply = await ws.receive_json(timeout=2)
        assert reply["type"] == "error" and reply["id"] == 2 and reply["error"]["code"] == "JOIN_CODE_UNKNOWN"
        await ws.send_json({"type": "join", "id": 3})
        reply = await ws.receive_json(timeout=2)
        assert reply["error"]["code"] == "VALIDATION_FAILED" and "code" in reply["error"]["fields"]


async def test_a_join_code_says_where_its_session_stands_with_the_token_alone(client, prof, token, pg):
    """The scanner reads this before any device login: a closed class's link says so without a passkey prompt."""
    student = bearer(token("alumno", user_id=104))  # no device, no login

    async def look_up(code):
        return await client.get(f"/api/attendance/session?code={code}", headers=student)

    session = await open_session(client, prof, course_code="INF-239", course_name="Bases de Datos", room="A-201")
    found = await look_up(session["join_code"].lower())
    assert found.status == 200, await found.text()
    assert await found.json() == {"state": "open", "course_code": "INF-239", "course_name": "Bases de Datos",
                                  "room": "A-201"}
    await client.post(f"/api/sessions/{session['id']}/close", headers=bearer(prof))
    assert (await (await look_up(session["join_code"])).json())["state"] == "closed"

    cancelled = await open_session(client, prof)
    await client.post(f"/api/sessions/{cancelled['id']}/cancel", json={"reason": "Abierta por error"},
                      headers=bearer(prof))
    assert (await (await look_up(cancelled["join_code"])).json())["state"] == "cancelled"

    ended = await open_session(client, prof)
    with pg.cursor() as cur:
        cur.execute("UPDATE class_sessions SET ends_at = now() - interval '1 second' WHERE id = %s", (ended["id"],))
    assert (await (await look_up(ended["join_code"])).json())["state"] == "closed"

    draft = await open_session(client, prof, open=False)
    assert (await (await look_up(draft["join_code"])).json())["state"] == "draft"

    assert await error_of(await look_up("ZZZZZZ")) == (404, "JOIN_CODE_UNKNOWN")
    assert await error_of(await look_up("AB12")) == (400, "VALIDATION_FAILED")
    assert await error_of(await client.get("/api/attendance/session", headers=student)) == (400, "VALIDATION_FAILED")
    assert await error_of(await client.get(f"/api/attendance/session?code={session['join_code']}",
                                           headers=bearer(prof))) == (403, "ROLE_FORBIDDEN")
    assert _count(pg, "SELECT count(*) FROM registrations") == 0
