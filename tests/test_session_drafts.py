"""Draft sessions (issue 11): prepared ahead of class, opened when class starts. A draft takes
no joins and counts nowhere; opening starts its clock and is idempotent."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests import class_data
from tests.classroom import PROFESSOR_ID, open_session, projector, scanner
from tests.helpers import bearer, error_of


@pytest.fixture
def prof(token):
    return token("profesor", user_id=PROFESSOR_ID, username="profesora@usm.cl", full_name="Profesora Contreras")


async def _open(client, token: str, session_id) -> tuple[int, dict]:
    response = await client.post(f"/api/sessions/{session_id}/open", headers=bearer(token))
    return response.status, await response.json()


async def _join(client, student, code: str):
    return await client.post("/api/attendance/join", json={"code": code}, headers=bearer(student.token))


async def test_a_draft_has_its_code_but_no_clock_and_takes_no_joins(client, prof, ready_student, pg):
    draft = await open_session(client, prof, open=False, duration_minutes=90, late_after_minutes=10)
    assert (draft["status"], draft["open"], draft["opened_at"], draft["ends_at"], draft["closed_at"]) == \
        ("draft", False, None, None, None)
    assert len(draft["join_code"]) == 6
    student = await ready_student(101)
    assert await error_of(await _join(client, student, draft["join_code"])) == (422, "SESSION_NOT_OPEN")
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM registrations")
        assert cur.fetchone()[0] == 0
    # Its projector is told so (a clear state, not a dead screen); its dashboard shows the draft.
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": prof})
    assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
    await ws.send_json({"type": "project", "id": 1, "session": draft["id"]})
    refused = await ws.receive_json(timeout=5)
    assert (refused["type"], refused["error"]["code"]) == ("error", "SESSION_NOT_OPEN")
    await ws.send_json({"type": "watch", "id": 2, "session": draft["id"]})
    watched = await ws.receive_json(timeout=5)
    assert watched["data"]["session"]["status"] == "draft"
    opened = await _open(client, prof, draft["id"])
    event = await ws.receive_json(timeout=5)
    await ws.close()
    assert (event["event"], event["data"]["ends_at"]) == ("opened", opened[1]["ends_at"])


async def test_opening_starts_the_clock_then_students_join(client, prof, ready_student, pg):
    draft = await open_session(client, prof, open=False, duration_minutes=90)
    with pg.cursor() as cur:  # prepared the day before
        cur.execute("UPDATE class_sessions SET created_at = now() - interval '1 day' WHERE id = %s", (draft["id"],))
    status, session = await _open(client, prof, draft["id"])
    assert (status, session["status"], session["open"], session["join_code"]) == \
        (200, "active", True, draft["join_code"])
    opened, ends = (dt.datetime.fromisoformat(session[k]) for k in ("opened_at", "ends_at"))
    assert ends - opened == dt.timedelta(minutes=90)
    assert opened - dt.datetime.fromisoformat(session["created_at"]) > dt.timedelta(hours=23)
    assert (await _join(client, await ready_student(101), draft["join_code"])).status == 200


async def test_opening_twice_even_at_once_opens_one_session_once(client, prof, pg):
    draft = await open_session(client, prof, open=False)
    answers = await asyncio.gather(*(_open(client, prof, draft["id"]) for _ in range(4)))
    assert {status for status, _ in answers} == {200}
    assert len({(body["id"], body["opened_at"], body["ends_at"]) for _, body in answers}) == 1
    again = await _open(client, prof, draft["id"])
    assert again == (200, answers[0][1])
    with pg.cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE status = 'active') FROM class_sessions")
        assert cur.fetchone() == (1, 1)


async def test_a_closed_or_cancelled_session_cannot_be_opened(client, prof):
    closed = await open_session(client, prof)
    await client.post(f"/api/sessions/{closed['id']}/close", headers=bearer(prof))
    cancelled = await open_session(client, prof, open=False)
    await client.post(f"/api/sessions/{cancelled['id']}/cancel", headers=bearer(prof), json={"reason": "no hay clase"})
    for session in (closed, cancelled):
        response = await client.post(f"/api/sessions/{session['id']}/open", headers=bearer(prof))
        assert await error_of(response) == (409, "SESSION_NOT_DRAFT")


async def test_a_cancelled_draft_never_ran_and_its_code_is_free(client, prof, ready_student, pg):
    draft = await open_session(client, prof, open=False)
    response = await client.post(f"/api/sessions/{draft['id']}/cancel", headers=bearer(prof),
                                 json={"reason": "Se suspendió la clase"})
    cancelled = await response.json()
    assert (response.status, cancelled["status"], cancelled["cancel_reason"]) == \
        (200, "cancelled", "Se suspendió la clase")
    assert (cancelled["opened_at"], cancelled["closed_at"], cancelled["closed_by"]) == (None, None, None)
    refused = await _join(client, await ready_student(101), draft["join_code"])
    assert await error_of(refused) == (422, "SESSION_CLOSED")
    with pg.cursor() as cur:  # its code may serve another session now
        cur.execute("INSERT INTO class_sessions (professor_id, course_code, course_name, join_code, ends_at) "
                    "VALUES (%s, 'X', 'Y', %s, now() + interval '1 hour')", (PROFESSOR_ID, draft["join_code"]))


async def test_drafts_are_listed_and_filtered_by_state(client, prof, token):
    draft = await open_session(client, prof, open=False)
    active = await open_session(client, prof)
    listed = await (await client.get("/api/sessions?status=draft", headers=bearer(prof))).json()
    assert [s["id"] for s in listed["sessions"]] == [draft["id"]]
    everything = await (await client.get("/api/sessions", headers=bearer(prof))).json()
    assert {s["id"] for s in everything["sessions"]} == {draft["id"], active["id"]}
    other = await (await client.get("/api/sessions", headers=bearer(token("profesor", user_id=2002)))).json()
    assert other["sessions"] == []
    admin = await (await client.get("/api/sessions?status=draft", headers=bearer(token("admin", user_id=9)))).json()
    assert [(s["id"], s["professor"]["username"]) for s in admin["sessions"]] == [(draft["id"], "profesora@usm.cl")]


async def test_a_draft_counts_nowhere(client, token, pg):
    professor = class_data.professor(pg)
    camila = class_data.student(pg, "12345678-5", "Camila Rojas Muñoz")
    held = class_data.class_session(pg, professor, join_code="AAAAAA")
    class_data.complete(pg, held, camila)
    prof = token("profesor", user_id=professor)
    await class_data.close(client, held, prof)
    draft = await open_session(client, prof, open=False)
    headers = bearer(prof)

    summary = await (await client.get("/api/courses/INF-239/summary", headers=headers)).json()
    assert summary["sessions_held"] == 1 and [s["id"] for s in summary["sessions"]] == [held]
    assert summary["active_sessions"] == [] and summary["students"][0]["attendance_rate"] == 1.0
    csv = await client.get(f"/api/sessions/{draft['id']}/attendance.csv", headers=headers)
    assert await error_of(csv) == (422, "SESSION_NOT_OPEN")
    legacy = await client.get(f"/api/sessions/{draft['id']}/attendance/legacy", headers=headers)
    assert await error_of(legacy) == (422, "SESSION_NOT_CLOSED")
    marked = await client.post(f"/api/sessions/{draft['id']}/attendance", headers=headers,
                               json={"rut": "12345678-5", "status": "PRESENT", "note": "sin teléfono"})
    assert await error_of(marked) == (422, "SESSION_NOT_OPEN")
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM registrations WHERE session_id = %s", (draft["id"],))
        assert cur.fetchone()[0] == 0


async def test_open_refuses_hostile_input_as_the_other_session_endpoints_do(client, prof, token):
    draft = await open_session(client, prof, open=False)
    for bad in ("abc", "0", "-1", str(2**63), "1.5"):
        response = await client.post(f"/api/sessions/{bad}/open", headers=bearer(prof))
        assert await error_of(response) == (400, "VALIDATION_FAILED"), bad
    missing = await client.post(f"/api/sessions/{draft['id'] + 1000}/open", headers=bearer(prof))
    assert await error_of(missing) == (404, "SESSION_NOT_FOUND")
    url = f"/api/sessions/{draft['id']}/open"
    assert await error_of(await client.post(url, headers=bearer(token("profesor", user_id=2002)))) == \
        (404, "SESSION_NOT_FOUND")
    assert await error_of(await client.post(url, headers=bearer(token("alumno", user_id=101)))) == \
        (403, "ROLE_FORBIDDEN")
    assert (await client.post(url)).status == 401
    read = await (await client.get(f"/api/sessions/{draft['id']}", headers=bearer(prof))).json()
    assert read["status"] == "draft"
    # An admin may open anyone's draft.
    status, opened = await _open(client, token("admin", user_id=9), draft["id"])
    assert (status, opened["status"]) == (200, "active")


@pytest.mark.parametrize("body", [{"open": "false"}, {"open": 0}, {"open": None}])
async def test_open_on_create_is_a_boolean(client, prof, body):
    response = await client.post("/api/sessions", headers=bearer(prof),
                                 json={"course_code": "X", "course_name": "Y", **body})
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    assert set((await response.json())["error"]["fields"]) == {"open"}


async def test_the_late_threshold_counts_from_the_opening(make_client, config, prof, ready_student, pg):
    """Prepared an hour before class with a 5-minute late threshold: a student who joins right
    after the opening is present, not late."""
    client = await make_client(config.replace(countdown_seconds=0, qr_tick_ms=100, qr_min_pool=10))
    draft = await open_session(client, prof, open=False, rounds=3, late_after_minutes=5)
    with pg.cursor() as cur:
        cur.execute("UPDATE class_sessions SET created_at = now() - interval '1 hour' WHERE id = %s", (draft["id"],))
    await _open(client, prof, draft["id"])
    phone = scanner(client, await ready_student(101), answer_delay=lambda: 0.6)
    await phone.join(draft["join_code"])
    async with projector(client, prof, draft["id"]) as screen:
        reply = await asyncio.wait_for(phone.run(screen.watch()), 30)
    assert reply == {"result": "completed", "round": 3, "rounds": 3, "status": "PRESENT"}


async def test_a_draft_is_edited_until_it_opens(client, prof, token):
    draft = await open_session(client, prof, open=False, room="A-201", late_after_minutes=10)
    url = f"/api/sessions/{draft['id']}"
    response = await client.patch(url, headers=bearer(prof),
                                  json={"room": " B-104 ", "rounds": 5, "late_after_minutes": None,
                                        "allowed_networks": ["10.1.2.3/16"], "projection_mode": "shared"})
    edited = await response.json()
    assert response.status == 200, edited
    assert (edited["room"], edited["rounds"], edited["late_after_minutes"], edited["allowed_networks"],
            edited["projection_mode"]) == ("B-104", 5, None, ["10.1.0.0/16"], "shared")
    assert (edited["course_name"], edited["join_code"], edited["status"]) == \
        (draft["course_name"], draft["join_code"], "draft")
    assert (await client.patch(url, headers=bearer(prof), json={})).status == 200
    for body, field in (({"rounds": 11}, "rounds"), ({"course_name": " "}, "course_name"),
                        ({"open": True}, "open"), ({"request_id": None}, "request_id"), ({"colour": 1}, "colour")):
        refused = await client.patch(url, headers=bearer(prof), json=body)
        assert await error_of(refused) == (400, "VALIDATION_FAILED"), body
        assert set((await refused.json())["error"]["fields"]) == {field}
    other = await client.patch(url, headers=bearer(token("profesor", user_id=2002)), json={"room": "X"})
    assert await error_of(other) == (404, "SESSION_NOT_FOUND")

    await _open(client, prof, draft["id"])
    late = await client.patch(url, headers=bearer(prof), json={"rounds": 1})
    assert await error_of(late) == (409, "SESSION_NOT_DRAFT")
    read = await (await client.get(url, headers=bearer(prof))).json()
    assert (read["rounds"], read["room"], read["status"]) == (5, "B-104", "active")
