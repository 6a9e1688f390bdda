"""GET /api/sessions/{id}/attendance: live and final lists, filters, sorting, who may read."""

from __future__ import annotations

import datetime

import pytest

from asistencia.domain.attendance_list import registration_status, select_students
from tests import class_data
from tests.helpers import bearer, error_of

SANTIAGO_NOVEMBER = datetime.timezone(datetime.timedelta(hours=-3))


@pytest.fixture
def classroom(pg):
    """An active session: Camila completed, Matías mid-scan, Valentina failed, Benjamín just joined."""
    prof = class_data.professor(pg)
    session = class_data.class_session(pg, prof)
    people = {
        "camila": class_data.student(pg, "12345678-5", "Camila Rojas Muñoz"),
        "matias": class_data.student(pg, "19876543-2", "Matías González Soto"),
        "valentina": class_data.student(pg, "20111222-3", "Valentina Díaz Pérez"),
        "benjamin": class_data.student(pg, "18555444-K", "Benjamín Fuentes Araya"),
    }
    class_data.complete(pg, session, people["camila"], status="PRESENT", certainty=88,
                        response_ms=(900, 1100, 1000), joined_after=2 * class_data.MINUTE)
    matias = class_data.join(pg, session, people["matias"], joined_after=3 * class_data.MINUTE, failures=1)
    class_data.pass_rounds(pg, matias, [1500, 2500])
    class_data.join(pg, session, people["valentina"], state="failed", failures=3, origin_ip="10.0.0.9")
    class_data.join(pg, session, people["benjamin"], joined_after=12 * class_data.MINUTE, origin_ip=None)
    return {"professor": prof, "session": session, **people}


def by_user(body):
    return {student["user_id"]: student for student in body["students"]}


async def test_live_list_shows_each_registration_with_its_live_status_and_figures(client, token, classroom):
    response = await client.get(f"/api/sessions/{classroom['session']}/attendance",
                                headers=bearer(token("profesor", user_id=classroom["professor"])))
    assert response.status == 200
    body = await response.json()

    session = body["session"]
    assert (session["id"], session["course_code"], session["join_code"], session["status"]) == \
           (classroom["session"], "INF-239", "KXMPRT", "active")
    assert session["professor"]["id"] == classroom["professor"]
    assert datetime.datetime.fromisoformat(session["created_at"]) == class_data.CLASS_START
    assert session["closed_at"] is None

    assert body["totals"] == {"PRESENT": 1, "LATE": 0, "JUSTIFIED": 0, "DOUBTFUL": 0, "ABSENT": 0,
                              "FAILED": 1, "IN_PROGRESS": 2, "registered": 4}
    students = by_user(body)
    camila = students[classroom["camila"]]
    assert (camila["status"], camila["computed_status"], camila["state"], camila["certainty"]) == \
           ("PRESENT", "PRESENT", "completed", 88)
    assert (camila["rounds_completed"], camila["rt_mean_ms"], camila["rt_sd_ms"], camila["rt_min_ms"],
            camila["rt_max_ms"], camila["rt_median_ms"]) == (3, 1000.0, pytest.approx(81.65, abs=0.01), 900, 1100, 1000.0)
    assert camila["username"] == "12345678-5" and camila["full_name"] == "Camila Rojas Muñoz"
    assert camila["origin_ip"] == "10.0.0.7"
    joined = datetime.datetime.fromisoformat(camila["joined_at"])
    assert joined == class_data.CLASS_START + 2 * class_data.MINUTE
    assert joined.utcoffset() == SANTIAGO_NOVEMBER.utcoffset(None), "times come in Santiago's offset"
    assert camila["overridden"] is False and camila["override"] is None and camila["overrides"] == []

    matias = students[classroom["matias"]]
    assert (matias["status"], matias["computed_status"], matias["certainty"]) == ("IN_PROGRESS", None, None)
    assert (matias["rounds_completed"], matias["current_round"], matias["failures"]) == (2, 3, 1)
    assert (matias["rt_mean_ms"], matias["rt_min_ms"], matias["rt_max_ms"], matias["rt_median_ms"]) == \
           (2000.0, 1500, 2500, 2000.0)
    assert matias["rt_sd_ms"] == 500.0, "population sd of 1500 and 2500"

    valentina = students[classroom["valentina"]]
    assert (valentina["status"], valentina["failures"], valentina["rounds_completed"]) == ("FAILED", 3, 0)
    assert valentina["rt_mean_ms"] is None
    assert students[classroom["benjamin"]]["origin_ip"] is None


async def test_after_finalisation_the_list_shows_final_outcomes(client, token, pg, classroom):
    await class_data.close(client, classroom["session"], token("profesor", user_id=classroom["professor"]))
    response = await client.get(f"/api/sessions/{classroom['session']}/attendance",
                                headers=bearer(token("profesor", user_id=classroom["professor"])))
    body = await response.json()
    assert body["session"]["status"] == "closed" and body["session"]["closed_at"] is not None
    assert body["totals"]["ABSENT"] == 3 and body["totals"]["PRESENT"] == 1
    assert body["totals"]["IN_PROGRESS"] == body["totals"]["FAILED"] == 0
    matias = by_user(body)[classroom["matias"]]
    assert (matias["status"], matias["computed_status"], matias["rounds_completed"], matias["rt_mean_ms"]) == \
           ("ABSENT", "ABSENT", 2, 2000.0)


async def test_filters_and_sorting(client, token, classroom):
    headers = bearer(token("profesor", user_id=classroom["professor"]))
    url = f"/api/sessions/{classroom['session']}/attendance"

    async def names(**params):
        body = await (await client.get(url, params=params, headers=headers)).json()
        return [student["full_name"].split()[0] for student in body["students"]]

    assert await names() == ["Benjamín", "Camila", "Matías", "Valentina"]
    assert await names(sort="-full_name") == ["Valentina", "Matías", "Camila", "Benjamín"]
    assert await names(status="IN_PROGRESS,FAILED") == ["Benjamín", "Matías", "Valentina"]
    assert await names(status="PRESENT") == ["Camila"]
    assert await names(q="munoz") == ["Camila"], "search ignores case and accents"
    assert await names(q="19876543") == ["Matías"], "search finds RUTs"
    assert await names(sort="joined_at") == ["Valentina", "Camila", "Matías", "Benjamín"]
    assert await names(sort="-rt_mean_ms") == ["Matías", "Camila", "Benjamín", "Valentina"], "no figures go last"
    assert await names(sort="status") == ["Camila", "Valentina", "Benjamín", "Matías"]
    body = await (await client.get(url, params={"status": "ABSENT"}, headers=headers)).json()
    assert body["students"] == [] and body["totals"]["registered"] == 4, "totals ignore the filter"


@pytest.mark.parametrize(("query", "field"), [
    ("?status=WIZARD", "status"),
    ("?status=PRESENT,nope", "status"),
    ("?sort=password", "sort"),
    ("?bogus=1", "bogus"),
    ("?q=" + "x" * 201, "q"),
])
async def test_bad_query_parameters_are_refused_with_field_details(client, token, classroom, query, field):
    response = await client.get(f"/api/sessions/{classroom['session']}/attendance{query}",
                                headers=bearer(token("profesor", user_id=classroom["professor"])))
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    assert field in (await response.json())["error"]["fields"]


@pytest.mark.parametrize("session_id", ["abc", "1.5", "0", "99999999999999999999"])
async def test_bad_session_ids_are_refused_with_field_details(client, token, classroom, session_id):
    response = await client.get(f"/api/sessions/{session_id}/attendance",
                                headers=bearer(token("profesor", user_id=classroom["professor"])))
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    assert set((await response.json())["error"]["fields"]) == {"id"}


async def test_another_professor_gets_404_and_an_admin_sees_everything(client, token, pg, classroom):
    other = class_data.professor(pg, user_id=2002, username="otro@usm.cl")
    url = f"/api/sessions/{classroom['session']}/attendance"
    response = await client.get(url, headers=bearer(token("profesor", user_id=other)))
    assert await error_of(response) == (404, "SESSION_NOT_FOUND")
    missing = await client.get("/api/sessions/987654/attendance", headers=bearer(token("profesor", user_id=other)))
    assert await error_of(missing) == (404, "SESSION_NOT_FOUND"), "foreign and missing look the same"

    admin = await client.get(url, headers=bearer(token("admin", user_id=1)))
    assert admin.status == 200
    assert (await admin.json())["totals"]["registered"] == 4


async def test_students_and_anonymous_callers_are_refused(client, token, classroom):
    url = f"/api/sessions/{classroom['session']}/attendance"
    student = await client.get(url, headers=bearer(token("alumno", user_id=classroom["camila"])))
    assert await error_of(student) == (403, "ROLE_FORBIDDEN")
    assert await error_of(await client.get(url)) == (401, "TOKEN_MISSING")


def test_live_status_comes_from_the_outcome_once_there_is_one():
    assert registration_status("scanning", None) == "IN_PROGRESS"
    assert registration_status("completed", None) == "IN_PROGRESS"
    assert registration_status("failed", None) == "FAILED"
    assert registration_status("failed", "JUSTIFIED") == "JUSTIFIED"
    assert registration_status("completed", "DOUBTFUL") == "DOUBTFUL"


def test_sorting_keeps_missing_values_last_in_both_directions_and_ties_in_name_order():
    students = [
        {"full_name": "Bea", "username": "2", "status": "PRESENT", "certainty": 90},
        {"full_name": "Ana", "username": "1", "status": "ABSENT", "certainty": None},
        {"full_name": "Ćarla", "username": "3", "status": "PRESENT", "certainty": 90},
        {"full_name": "Dani", "username": "4", "status": "DOUBTFUL", "certainty": 40},
    ]
    ascending = [s["full_name"] for s in select_students(students, sort="certainty")]
    descending = [s["full_name"] for s in select_students(students, sort="-certainty")]
    assert ascending == ["Dani", "Bea", "Ćarla", "Ana"]
    assert descending == ["Bea", "Ćarla", "Dani", "Ana"]
