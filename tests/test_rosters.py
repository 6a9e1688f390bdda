"""Course rosters and marks by hand (issue 11): roster students who never joined are absent in
the results, the CSV and the course summary; a professor marks a student whose phone failed
(registered by hand, audited as an override, certainty "manual", counted)."""

from __future__ import annotations

import csv
import io

import pytest

from asistencia.domain.rut import check_digit, normalize
from tests import class_data
from tests.helpers import bearer, error_of

CAMILA = "12345678-5"
NEVER_JOINED = "15111222-6"   # on the roster, never joined anything
NO_PASSKEY = "16222333-K"     # on the roster; her phone has no passkey: marked by hand
ROSTER_CSV_ROWS = [{"rut": "12.345.678-5", "full_name": "Camila Rojas Muñoz"},
                   {"rut": "15111222-6", "full_name": "Tomás Herrera Vidal"},
                   {"rut": "16222333k", "full_name": "Josefa Núñez Lagos"}]


def test_rut_check_digits_and_forms():
    assert [check_digit(n) for n in (12345678, 16222333, 11444555, 6)] == ["5", "K", "K", "K"]
    assert normalize(" 12.345.678-5 ") == normalize("123456785") == "12345678-5"
    assert normalize("16222333-k") == "16222333-K"
    assert [normalize(bad) for bad in ("12345678-4", "0-0", "1234567890-1", "abc", "")] == [None] * 5


@pytest.fixture
def course(pg, client):
    """INF-239: a closed session Camila completed, and today's active one Matías joined."""
    professor = class_data.professor(pg)
    camila = class_data.student(pg, CAMILA, "Camila Rojas Muñoz")
    matias = class_data.student(pg, "17333444-3", "Matías González Soto")
    earlier = class_data.class_session(pg, professor, join_code="AAAAAA")
    class_data.complete(pg, earlier, camila)
    today = class_data.class_session(pg, professor, join_code="BBBBBB")
    class_data.join(pg, today, matias)
    return {"professor": professor, "earlier": earlier, "today": today, "camila": camila, "matias": matias}


def headers(token, course):
    return bearer(token("profesor", user_id=course["professor"]))


async def test_a_roster_upload_checks_every_rut_and_stores_nothing_unless_all_are_right(client, token, course):
    url = "/api/courses/INF-239/roster"
    bad = [*ROSTER_CSV_ROWS, {"rut": "11444555-1", "full_name": "Dígito malo"},
           {"rut": "15111222-6", "full_name": "Repetido"}, {"rut": "1", "full_name": "  "}]
    response = await client.put(url, json={"students": bad}, headers=headers(token, course))
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    problems = (await response.json())["error"]["fields"]["students"]
    assert set(problems) == {"3", "5"} and set(problems["3"]) == {"rut"} and set(problems["5"]) == {"rut", "full_name"}
    assert (await (await client.get(url, headers=headers(token, course))).json())["students"] == []

    response = await client.put(url, json={"students": ROSTER_CSV_ROWS}, headers=headers(token, course))
    assert response.status == 200
    roster = (await response.json())["students"]
    assert [(s["rut"], s["full_name"], s["source"]) for s in roster] == [
        (CAMILA, "Camila Rojas Muñoz", "csv"), (NO_PASSKEY, "Josefa Núñez Lagos", "csv"),
        (NEVER_JOINED, "Tomás Herrera Vidal", "csv")]
    assert roster[0]["user_id"] == course["camila"]

    # Filled from who joined: Matías is added, nobody twice.
    response = await client.post(f"{url}/joined", headers=headers(token, course))
    body = await response.json()
    assert body["added"] == 1 and [s["source"] for s in body["students"]].count("joined") == 1
    # Another professor has no sessions of the course: it does not exist for them.
    response = await client.get(url, headers=bearer(token("profesor", user_id=2002)))
    assert await error_of(response) == (404, "COURSE_NOT_FOUND")


async def test_roster_absentees_and_a_mark_by_hand_reach_results_csv_summary_and_counters(
        client, token, pg, course):
    professor = headers(token, course)
    await client.put("/api/courses/INF-239/roster", json={"students": ROSTER_CSV_ROWS}, headers=professor)

    # Josefa's phone has no passkey: the professor marks her present by hand during the class.
    response = await client.post(f"/api/sessions/{course['today']}/attendance", headers=professor,
                                 json={"rut": "16.222.333-k", "status": "PRESENT",
                                       "note": "Su teléfono no admite llaves de acceso; estaba en la sala"})
    assert response.status == 200, await response.text()
    josefa = (await response.json())["student"]
    assert (josefa["username"], josefa["full_name"], josefa["status"], josefa["manual"], josefa["certainty"]) == \
           (NO_PASSKEY, "Josefa Núñez Lagos", "PRESENT", True, None)
    assert [(h["from_status"], h["to_status"]) for h in josefa["overrides"]] == [(None, "PRESENT")]
    read = await (await client.get(f"/api/sessions/{course['today']}", headers=professor)).json()
    assert (read["counters"]["joined"], read["counters"]["present"], read["counters"]["in_progress"]) == (2, 1, 1)

    # Marking her again changes her status like any override; no second registration.
    response = await client.post(f"/api/sessions/{course['today']}/attendance", headers=professor,
                                 json={"rut": NO_PASSKEY, "status": "LATE", "note": "Llegó 20 minutos tarde"})
    assert (await response.json())["student"]["status"] == "LATE"
    read = await (await client.get(f"/api/sessions/{course['today']}", headers=professor)).json()
    assert (read["counters"]["joined"], read["counters"]["present"], read["counters"]["late"]) == (2, 0, 1)

    await class_data.close(client, course["earlier"], token("profesor", user_id=course["professor"]))
    await class_data.close(client, course["today"], token("profesor", user_id=course["professor"]))
    body = await (await client.get(f"/api/sessions/{course['today']}/attendance", headers=professor)).json()
    listed = {s["username"]: s for s in body["students"]}
    assert {rut: (s["status"], s["registered"]) for rut, s in listed.items()} == {
        "17333444-3": ("ABSENT", True), NO_PASSKEY: ("LATE", True),
        CAMILA: ("ABSENT", False), NEVER_JOINED: ("ABSENT", False)}
    assert body["totals"]["ABSENT"] == 3

    response = await client.get(f"/api/sessions/{course['today']}/attendance.csv", headers=professor)
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig")), delimiter=";"))
    by_rut = {row[0]: row for row in rows[1:]}
    assert by_rut[NEVER_JOINED][2] == "ABSENT" and by_rut[NO_PASSKEY][4] == "manual"

    summary = await (await client.get("/api/courses/INF-239/summary", headers=professor)).json()
    rates = {s["username"]: (s["statuses"], s["attendance_rate"]) for s in summary["students"]}
    assert rates[NEVER_JOINED] == ([None, None], 0.0)
    assert rates[CAMILA] == (["PRESENT", None], 0.5)
    assert rates[NO_PASSKEY] == ([None, "LATE"], 0.5)


async def test_a_mark_by_hand_after_the_close_reads_as_one_made_during_the_class(client, token, pg, course):
    """Josefa is marked during the class, Tomás (absent on the roster) after the close: both end
    with the computed status the close gives a student who never completed (ABSENT) under the
    professor's PRESENT, in the list, the CSV, the course summary and the counters."""
    professor = headers(token, course)
    await client.put("/api/courses/INF-239/roster", json={"students": ROSTER_CSV_ROWS}, headers=professor)
    mark = {"status": "PRESENT", "note": "Estaba en la sala; su teléfono falló"}
    url = f"/api/sessions/{course['today']}/attendance"
    assert (await client.post(url, headers=professor, json={"rut": NO_PASSKEY, **mark})).status == 200
    await class_data.close(client, course["today"], token("profesor", user_id=course["professor"]))
    response = await client.post(url, headers=professor, json={"rut": NEVER_JOINED, **mark})
    assert response.status == 200, await response.text()
    # What the professor changed: Tomás was listed absent once the class closed.
    assert [(h["from_status"], h["to_status"]) for h in (await response.json())["student"]["overrides"]] == \
        [("ABSENT", "PRESENT")]

    body = await (await client.get(url, headers=professor)).json()
    listed = {s["username"]: s for s in body["students"]}
    same = ("status", "computed_status", "certainty", "rounds_completed", "rt_mean_ms", "manual", "registered",
            "overridden", "state")
    assert {key: listed[NEVER_JOINED][key] for key in same} == {key: listed[NO_PASSKEY][key] for key in same} == {
        "status": "PRESENT", "computed_status": "ABSENT", "certainty": None, "rounds_completed": 0,
        "rt_mean_ms": None, "manual": True, "registered": True, "overridden": True, "state": "scanning"}
    assert (body["totals"]["PRESENT"], body["totals"]["ABSENT"]) == (2, 2)

    response = await client.get(f"{url}.csv", headers=professor)
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig")), delimiter=";"))
    by_rut = {row[0]: row[2:12] for row in rows[1:]}
    assert by_rut[NEVER_JOINED] == by_rut[NO_PASSKEY]
    assert by_rut[NEVER_JOINED][:4] == ["PRESENT", "ABSENT", "manual", "0"]

    summary = await (await client.get("/api/courses/INF-239/summary", headers=professor)).json()
    rates = {s["username"]: (s["statuses"], s["attendance_rate"]) for s in summary["students"]}
    assert rates[NEVER_JOINED] == rates[NO_PASSKEY] == (["PRESENT"], 1.0)
    read = await (await client.get(f"/api/sessions/{course['today']}", headers=professor)).json()
    counted = {key: read["counters"][key] for key in ("joined", "present", "absent", "in_progress", "failed")}
    assert counted == {"joined": 3, "present": 2, "absent": 1, "in_progress": 0, "failed": 0}


@pytest.mark.parametrize(("body", "fields"), [
    ({"rut": "12345678-4", "status": "PRESENT", "note": "x"}, {"rut"}),
    ({"rut": "12345678-5", "status": "PRESENT"}, {"note"}),
    ({"rut": "12345678-5", "status": "IN_PROGRESS", "note": "x"}, {"status"}),
    ({"rut": "12345678-5", "status": "PRESENT", "note": "x", "full_name": ""}, {"full_name"}),
    ({"rut": "12345678-5", "status": "PRESENT", "note": "x", "certainty": 90}, {"certainty"}),
])
async def test_bad_marks_by_hand_are_refused_and_register_nobody(client, token, pg, course, body, fields):
    response = await client.post(f"/api/sessions/{course['today']}/attendance", json=body,
                                 headers=headers(token, course))
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    assert set((await response.json())["error"]["fields"]) == fields
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM registrations WHERE session_id = %s", (course["today"],))
        assert cur.fetchone()[0] == 1


async def test_no_mark_by_hand_in_a_cancelled_or_someone_elses_session(client, token, pg, course):
    body = {"rut": CAMILA, "status": "PRESENT", "note": "vino"}
    response = await client.post(f"/api/sessions/{course['today']}/attendance", json=body,
                                 headers=bearer(token("profesor", user_id=2002)))
    assert await error_of(response) == (404, "SESSION_NOT_FOUND")
    class_data.cancel(pg, course["today"])
    response = await client.post(f"/api/sessions/{course['today']}/attendance", json=body,
                                 headers=headers(token, course))
    assert await error_of(response) == (422, "SESSION_CANCELLED")


async def _watched_students(client, professor_token: str, session_id: int) -> dict[str, tuple]:
    """(state, status) per username in a dashboard's `watch` snapshot."""
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": professor_token})
        assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
        await ws.send_json({"type": "watch", "id": 1, "session": session_id})
        reply = await ws.receive_json(timeout=5)
        while reply.get("id") != 1:
            reply = await ws.receive_json(timeout=5)
    return {s["username"]: (s["state"], s["status"]) for s in reply["data"]["students"]}


async def test_roster_students_who_have_not_joined_are_on_the_live_dashboard(client, token, course):
    professor = token("profesor", user_id=course["professor"])
    assert await _watched_students(client, professor, course["today"]) == {"17333444-3": ("scanning", None)}
    await client.put("/api/courses/INF-239/roster", json={"students": ROSTER_CSV_ROWS}, headers=bearer(professor))
    assert await _watched_students(client, professor, course["today"]) == {
        "17333444-3": ("scanning", None), CAMILA: ("not_joined", None), NEVER_JOINED: ("not_joined", None),
        NO_PASSKEY: ("not_joined", None)}
    await client.post(f"/api/sessions/{course['today']}/attendance", headers=bearer(professor),
                      json={"rut": NO_PASSKEY, "status": "PRESENT", "note": "Sin llave de acceso; estaba en la sala"})
    await class_data.close(client, course["today"], professor)
    assert await _watched_students(client, professor, course["today"]) == {
        "17333444-3": ("scanning", "ABSENT"), CAMILA: ("not_joined", "ABSENT"),
        NEVER_JOINED: ("not_joined", "ABSENT"), NO_PASSKEY: ("scanning", "PRESENT")}
