"""GET /api/courses/{course_code}/summary (and .csv): students × sessions, rates, chart series."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo

import pytest

from tests import class_data
from tests.helpers import bearer, error_of

DAY = datetime.timedelta(days=1)
SANTIAGO = zoneinfo.ZoneInfo("America/Santiago")
ATTENDED = {"PRESENT", "LATE", "JUSTIFIED"}
STUDENTS = {"12345678-5": "Ana Araya", "19876543-2": "Bruno Bravo", "20111222-3": "Carla Cortés",
            "18555444-K": "Diego Díaz", "21000111-7": "Elisa Espinoza"}
# The closed sessions of INF-239 in 2026-2 and what each student ended with;
# a student missing from a session did not register in it.
PLAN = [
    ("AAAAAA", "1-2", class_data.CLASS_START - 24 * DAY,
     {"12345678-5": "PRESENT", "19876543-2": "LATE", "20111222-3": "DOUBTFUL", "18555444-K": "ABSENT"}),
    ("BBBBBB", "1-2", class_data.CLASS_START - 17 * DAY,
     {"12345678-5": "PRESENT", "19876543-2": "JUSTIFIED", "20111222-3": "PRESENT", "21000111-7": "DOUBTFUL"}),
    ("CCCCCC", "3-4", class_data.CLASS_START - 10 * DAY,
     {"12345678-5": "LATE", "20111222-3": "ABSENT", "18555444-K": "PRESENT"}),
]


async def hold_session(client, pg, professor: int, professor_token: str, ids: dict[str, int], join_code: str,
                       block: str, created_at: datetime.datetime, outcomes: dict[str, str], **session) -> int:
    """Run a session to its final outcomes; JUSTIFIED is a professor's override of ABSENT through the API."""
    session_id = class_data.class_session(pg, professor, join_code=join_code, block=block, created_at=created_at,
                                          **session)
    for rut, status in outcomes.items():
        if status in ("ABSENT", "JUSTIFIED"):
            class_data.join(pg, session_id, ids[rut])
        else:
            class_data.complete(pg, session_id, ids[rut], status=status, certainty=80)
    await class_data.close(client, session_id, professor_token)
    for rut, status in outcomes.items():
        if status == "JUSTIFIED":
            response = await client.patch(f"/api/sessions/{session_id}/attendance/{ids[rut]}",
                                          json={"status": "JUSTIFIED", "note": "Licencia médica"},
                                          headers=bearer(professor_token))
            assert response.status == 200
    return session_id


@pytest.fixture
async def course(client, token, pg):
    """PLAN for professor 1001, plus sessions that must not count or are not theirs."""
    prof = class_data.professor(pg)
    other = class_data.professor(pg, user_id=2002, username="otro@usm.cl", full_name="Otro Profesor")
    tokens = {prof: token("profesor", user_id=prof), other: token("profesor", user_id=other)}
    ids = {rut: class_data.student(pg, rut, name) for rut, name in STUDENTS.items()}
    held = [await hold_session(client, pg, prof, tokens[prof], ids, code, block, when, outcomes)
            for code, block, when, outcomes in PLAN]
    # Still running: listed apart, not counted.
    active = class_data.class_session(pg, prof, join_code="DDDDDD", created_at=class_data.CLASS_START)
    class_data.join(pg, active, ids["12345678-5"])
    # Cancelled: ignored.
    cancelled = class_data.class_session(pg, prof, join_code="EEEEEE", created_at=class_data.CLASS_START - 3 * DAY)
    class_data.complete(pg, cancelled, ids["19876543-2"])
    class_data.cancel(pg, cancelled)
    # Same course, earlier semester; same course, another professor; another course.
    earlier = await hold_session(client, pg, prof, tokens[prof], ids, "FFFFFF", "1-2",
                                 class_data.CLASS_START - 200 * DAY, {"12345678-5": "ABSENT"}, semester="2026-1")
    foreign = await hold_session(client, pg, other, tokens[other], ids, "GGGGGG", "5-6",
                                 class_data.CLASS_START - 5 * DAY, {"18555444-K": "PRESENT", "21000111-7": "LATE"})
    await hold_session(client, pg, prof, tokens[prof], ids, "HHHHHH", "1-2", class_data.CLASS_START - 4 * DAY,
                       {"12345678-5": "PRESENT"}, course_code="MAT-021", course_name="Matemáticas")
    return {"professor": prof, "other": other, "tokens": tokens, "ids": ids, "held": held, "active": active,
            "earlier": earlier, "foreign": foreign}


def expected_students(plan):
    """Each student's statuses by session, attended count and rate, straight from the plan."""
    ruts = sorted({rut for _, _, _, outcomes in plan for rut in outcomes}, key=lambda rut: STUDENTS[rut])
    expected = {}
    for rut in ruts:
        statuses = [outcomes.get(rut) for _, _, _, outcomes in plan]
        attended = len([s for s in statuses if s in ATTENDED])
        expected[rut] = {"statuses": statuses, "attended": attended, "rate": attended / len(plan),
                         "not_registered": statuses.count(None)}
    return expected


async def test_summary_numbers_match_the_sessions_rows(client, course):
    response = await client.get("/api/courses/INF-239/summary", params={"semester": "2026-2"},
                                headers=bearer(course["tokens"][course["professor"]]))
    assert response.status == 200
    body = await response.json()
    assert (body["course_code"], body["course_name"], body["semester"], body["sessions_held"]) == \
           ("INF-239", "Bases de Datos", "2026-2", 3)

    assert [s["id"] for s in body["sessions"]] == course["held"]
    assert [(s["join_code"], s["block"], s["date"]) for s in body["sessions"]] == \
           [(code, block, when.astimezone(SANTIAGO).date().isoformat()) for code, block, when, _ in PLAN]
    assert [a["id"] for a in body["active_sessions"]] == [course["active"]]

    expected = expected_students(PLAN)
    assert [s["username"] for s in body["students"]] == list(expected), "rows in name order"
    for student in body["students"]:
        want = expected[student["username"]]
        assert student["user_id"] == course["ids"][student["username"]]
        assert student["full_name"] == STUDENTS[student["username"]]
        assert student["statuses"] == want["statuses"]
        assert student["attended"] == want["attended"]
        assert student["attendance_rate"] == pytest.approx(want["rate"], abs=1e-4)
        assert student["counts"]["not_registered"] == want["not_registered"]
        for status in ("PRESENT", "LATE", "JUSTIFIED", "DOUBTFUL", "ABSENT"):
            assert student["counts"][status] == want["statuses"].count(status)

    for column, (_, _, _, outcomes) in zip(body["sessions"], PLAN):
        for status in ("PRESENT", "LATE", "JUSTIFIED", "DOUBTFUL", "ABSENT"):
            assert column["totals"][status] == list(outcomes.values()).count(status)
        attended = len([s for s in outcomes.values() if s in ATTENDED])
        assert column["totals"]["registered"] == len(outcomes)
        assert column["totals"]["attended"] == attended
        assert column["attendance_rate"] == pytest.approx(attended / len(expected), abs=1e-4)

    series = body["series"]
    assert series["session_ids"] == course["held"]
    assert series["dates"] == [s["date"] for s in body["sessions"]]
    assert series["attended"] == [len([s for s in o.values() if s in ATTENDED]) for *_, o in PLAN]
    assert series["registered"] == [len(o) for *_, o in PLAN]
    assert series["attendance_rate"] == [s["attendance_rate"] for s in body["sessions"]]


async def test_summary_csv_is_the_same_grid(client, course):
    response = await client.get("/api/courses/INF-239/summary.csv", params={"semester": "2026-2"},
                                headers=bearer(course["tokens"][course["professor"]]))
    assert response.status == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="resumen_INF-239_2026-2.csv"'
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    labels = [f"{when.astimezone(SANTIAGO).date().isoformat()} {block} [{code}]"
              for code, block, when, _ in PLAN]
    assert rows[0] == ["rut", "full_name", *labels, "sessions_held", "attended", "present", "late", "justified",
                       "doubtful", "absent", "not_registered", "attendance_percent"]
    expected = expected_students(PLAN)
    assert [row[0] for row in rows[1:]] == list(expected)
    for row in rows[1:]:
        want = expected[row[0]]
        statuses = want["statuses"]
        assert row[2:5] == [s or "" for s in statuses]
        assert row[5:7] == ["3", str(want["attended"])]
        assert row[7:12] == [str(statuses.count(s)) for s in ("PRESENT", "LATE", "JUSTIFIED", "DOUBTFUL", "ABSENT")]
        assert row[12] == str(want["not_registered"])
        assert row[13] == f"{want['rate'] * 100:.1f}".replace(".", ",")


async def test_each_professor_summarises_only_their_sessions_and_admin_all(client, token, course):
    other = await (await client.get("/api/courses/INF-239/summary?semester=2026-2",
                                    headers=bearer(course["tokens"][course["other"]]))).json()
    assert [s["id"] for s in other["sessions"]] == [course["foreign"]]
    assert [s["username"] for s in other["students"]] == ["18555444-K", "21000111-7"]

    admin = await (await client.get("/api/courses/INF-239/summary?semester=2026-2",
                                    headers=bearer(token("admin", user_id=1)))).json()
    assert sorted(s["id"] for s in admin["sessions"]) == sorted([*course["held"], course["foreign"]])
    assert admin["sessions_held"] == 4

    mat = await client.get("/api/courses/MAT-021/summary", headers=bearer(course["tokens"][course["other"]]))
    assert await error_of(mat) == (404, "COURSE_NOT_FOUND"), "someone else's course looks like no course"
    unknown = await client.get("/api/courses/NOPE-1/summary.csv",
                               headers=bearer(course["tokens"][course["professor"]]))
    assert await error_of(unknown) == (404, "COURSE_NOT_FOUND")


async def test_without_a_semester_every_semester_counts(client, course):
    body = await (await client.get("/api/courses/INF-239/summary",
                                   headers=bearer(course["tokens"][course["professor"]]))).json()
    assert body["semester"] is None
    assert [s["id"] for s in body["sessions"]] == [course["earlier"], *course["held"]]
    ana = next(s for s in body["students"] if s["username"] == "12345678-5")
    assert ana["statuses"] == ["ABSENT", "PRESENT", "PRESENT", "LATE"]
    assert ana["attendance_rate"] == pytest.approx(0.75)


async def test_a_course_with_only_a_running_session_has_an_empty_grid(client, token, pg):
    prof = class_data.professor(pg)
    active = class_data.class_session(pg, prof, course_code="FIS-110")
    response = await client.get("/api/courses/FIS-110/summary", headers=bearer(token("profesor", user_id=prof)))
    body = await response.json()
    assert (body["sessions_held"], body["sessions"], body["students"]) == (0, [], [])
    assert [a["id"] for a in body["active_sessions"]] == [active]


@pytest.mark.parametrize(("query", "field"), [("?semester=", "semester"), ("?semestre=2026-2", "semestre"),
                                              ("?semester=" + "9" * 21, "semester")])
async def test_bad_summary_queries_are_refused(client, token, query, field):
    response = await client.get(f"/api/courses/INF-239/summary{query}", headers=bearer(token("profesor", user_id=5)))
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    assert field in (await response.json())["error"]["fields"]
