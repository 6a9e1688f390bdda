"""Sessions professors can trust (issue 11): a mistaken session cancelled with a reason counts
nowhere, a repeated "open" with the same request id opens nothing new, and an admin finds
anyone's sessions by course, professor, day and state."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from tests import class_data
from tests.classroom import PROFESSOR_ID, open_session
from tests.helpers import bearer, error_of


@pytest.fixture
def prof(token):
    return token("profesor", user_id=PROFESSOR_ID, username="profesora@usm.cl", full_name="Profesora Contreras")


async def test_the_same_request_id_opens_one_session_even_when_sent_at_once(client, prof, token, pg):
    body = {"course_code": "INF-239", "course_name": "Bases de Datos", "request_id": str(uuid.uuid4())}
    responses = await asyncio.gather(*(client.post("/api/sessions", json=body, headers=bearer(prof))
                                       for _ in range(4)))
    assert sorted(r.status for r in responses) == [200, 200, 200, 201]
    opened = {(await r.json())["id"] for r in responses}
    assert len(opened) == 1
    # Another professor's request ids are their own; a new id opens a new session.
    other = await open_session(client, token("profesor", user_id=2002), request_id=body["request_id"])
    assert other["professor_id"] == 2002
    again = await open_session(client, prof, request_id=str(uuid.uuid4()))
    assert again["id"] not in opened
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM class_sessions WHERE professor_id = %s", (PROFESSOR_ID,))
        assert cur.fetchone()[0] == 2


async def test_a_request_id_must_be_a_uuid(client, prof):
    response = await client.post("/api/sessions", headers=bearer(prof),
                                 json={"course_code": "X", "course_name": "Y", "request_id": "twice"})
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    assert set((await response.json())["error"]["fields"]) == {"request_id"}


@pytest.fixture
def course(pg):
    """INF-239: an earlier class Camila attended, and today's, opened by mistake and closed empty."""
    professor = class_data.professor(pg)
    camila = class_data.student(pg, "12345678-5", "Camila Rojas Muñoz")
    earlier = class_data.class_session(pg, professor, join_code="AAAAAA",
                                       created_at=class_data.CLASS_START - dt.timedelta(days=7))
    class_data.complete(pg, earlier, camila)
    mistaken = class_data.class_session(pg, professor, join_code="BBBBBB")
    return {"professor": professor, "earlier": earlier, "mistaken": mistaken, "camila": camila}


async def test_a_cancelled_session_counts_nowhere_and_keeps_who_and_why(client, token, pg, course):
    headers = bearer(token("profesor", user_id=course["professor"]))
    for session in ("earlier", "mistaken"):
        await class_data.close(client, course[session], token("profesor", user_id=course["professor"]))
    summary = await (await client.get("/api/courses/INF-239/summary", headers=headers)).json()
    assert summary["sessions_held"] == 2 and summary["students"][0]["attendance_rate"] == 0.5

    response = await client.post(f"/api/sessions/{course['mistaken']}/cancel", headers=headers,
                                 json={"reason": "  La abrí por error  "})
    assert response.status == 200
    cancelled = await response.json()
    assert (cancelled["status"], cancelled["cancel_reason"], cancelled["cancelled_by"]) == \
           ("cancelled", "La abrí por error", course["professor"])
    assert cancelled["cancelled_at"].endswith("Z") and cancelled["closed_at"] is not None

    summary = await (await client.get("/api/courses/INF-239/summary", headers=headers)).json()
    assert summary["sessions_held"] == 1 and summary["students"][0]["attendance_rate"] == 1.0
    csv = await client.get(f"/api/sessions/{course['mistaken']}/attendance.csv", headers=headers)
    assert await error_of(csv) == (422, "SESSION_CANCELLED")
    legacy = await client.get(f"/api/sessions/{course['mistaken']}/attendance/legacy", headers=headers)
    assert await error_of(legacy) == (422, "SESSION_NOT_CLOSED")

    # Cancelling again changes nothing: the first reason stays.
    again = await client.post(f"/api/sessions/{course['mistaken']}/cancel", headers=headers,
                              json={"reason": "otra razón"})
    assert (await again.json())["cancel_reason"] == "La abrí por error"
    with pg.cursor() as cur:
        cur.execute("SELECT status, cancelled_by, cancel_reason FROM class_sessions WHERE id = %s",
                    (course["mistaken"],))
        assert cur.fetchone() == ("cancelled", course["professor"], "La abrí por error")


async def test_cancelling_an_active_session_stops_it_and_tells_its_dashboard(client, token, course):
    professor = token("profesor", user_id=course["professor"])
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": professor})
    assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
    await ws.send_json({"type": "watch", "id": 1, "session": course["mistaken"]})
    assert (await ws.receive_json(timeout=5))["type"] == "result"
    response = await client.post(f"/api/sessions/{course['mistaken']}/cancel", headers=bearer(professor),
                                 json={"reason": "Curso equivocado"})
    assert response.status == 200
    event = await ws.receive_json(timeout=5)
    await ws.close()
    assert (event["event"], event["data"]["session"], event["data"]["reason"]) == \
           ("cancelled", course["mistaken"], "Curso equivocado")
    read = await (await client.get(f"/api/sessions/{course['mistaken']}", headers=bearer(professor))).json()
    assert (read["status"], read["open"], read["closed_by"]) == ("cancelled", False, "professor")


@pytest.mark.parametrize("body", [{}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": "ok", "extra": 1}])
async def test_a_cancel_needs_a_reason(client, token, course, body):
    response = await client.post(f"/api/sessions/{course['mistaken']}/cancel", json=body,
                                 headers=bearer(token("profesor", user_id=course["professor"])))
    assert await error_of(response) == (400, "VALIDATION_FAILED")


async def test_only_the_owner_or_an_admin_cancels(client, token, course):
    url = f"/api/sessions/{course['mistaken']}/cancel"
    response = await client.post(url, json={"reason": "no es mía"}, headers=bearer(token("profesor", user_id=2002)))
    assert await error_of(response) == (404, "SESSION_NOT_FOUND")
    response = await client.post(url, json={"reason": "pedido por la profesora"},
                                 headers=bearer(token("admin", user_id=7, username="admin@usm.cl")))
    assert response.status == 200
    assert ((await response.json())["closed_by"], (await response.json())["cancelled_by"]) == ("admin", 7)


async def test_an_admin_lists_everyones_sessions_with_their_owner_and_filters(client, token):
    contreras = token("profesor", user_id=1001, username="contreras@usm.cl", full_name="Profesora Contreras")
    munoz = token("profesor", user_id=1002, username="munoz@usm.cl", full_name="Profesor Muñoz")
    first = await open_session(client, contreras, course_code="INF-239")
    await open_session(client, munoz, course_code="MAT-021", course_name="Cálculo")
    third = await open_session(client, munoz, course_code="INF-239")
    await client.post(f"/api/sessions/{third['id']}/close", headers=bearer(munoz))
    admin = bearer(token("admin", user_id=7))

    async def listed(query: str = "") -> list[tuple]:
        response = await client.get(f"/api/sessions{query}", headers=admin)
        assert response.status == 200, await response.text()
        return [(s["course_code"], s["professor"]["full_name"], s["status"])
                for s in (await response.json())["sessions"]]

    assert await listed() == [("INF-239", "Profesor Muñoz", "closed"), ("MAT-021", "Profesor Muñoz", "active"),
                              ("INF-239", "Profesora Contreras", "active")]
    assert await listed("?course_code=INF-239") == [("INF-239", "Profesor Muñoz", "closed"),
                                                    ("INF-239", "Profesora Contreras", "active")]
    assert await listed("?professor=muñ") == [("INF-239", "Profesor Muñoz", "closed"),
                                              ("MAT-021", "Profesor Muñoz", "active")]
    assert await listed("?professor=CONTRERAS@") == [("INF-239", "Profesora Contreras", "active")]
    assert await listed("?status=closed") == [("INF-239", "Profesor Muñoz", "closed")]
    today = dt.datetime.fromisoformat(first["created_at"]).astimezone(ZoneInfo("America/Santiago")).date()
    assert len(await listed(f"?date={today.isoformat()}")) == 3
    assert await listed(f"?date={(today - dt.timedelta(days=1)).isoformat()}") == []
    # A professor's filters never reach past their own sessions.
    response = await client.get("/api/sessions?professor=Contreras", headers=bearer(munoz))
    assert (await response.json())["sessions"] == []


@pytest.mark.parametrize(("query", "field"), [("?date=ayer", "date"), ("?course_code=", "course_code"),
                                              ("?professor=" + "x" * 201, "professor"), ("?owner=1", "owner")])
async def test_bad_list_filters_are_refused(client, prof, query, field):
    response = await client.get(f"/api/sessions{query}", headers=bearer(prof))
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    assert set((await response.json())["error"]["fields"]) == {field}
