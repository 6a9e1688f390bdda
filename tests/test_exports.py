"""CSV export of the attendance list and the legacy export for Hawaii."""

from __future__ import annotations

import csv
import datetime
import io

import pytest

from asistencia.domain.csv_export import attachment_filename, neutralise, plain_csv, spreadsheet_csv
from tests import class_data
from tests.helpers import bearer, error_of

# The documented column order (docs/api.md, "CSV conventions").
ATTENDANCE_COLUMNS = ["rut", "full_name", "status", "computed_status", "certainty", "rounds_completed",
                      "rt_mean_ms", "rt_sd_ms", "rt_min_ms", "rt_max_ms", "rt_median_ms", "failures",
                      "joined_at", "origin_ip", "override_note", "overridden_by", "overridden_at"]

# 22:30 on 27 November in Santiago, already the 28th in UTC.
LATE_EVENING = datetime.datetime(2026, 11, 28, 1, 30, tzinfo=datetime.timezone.utc)


@pytest.fixture
async def classroom(client, token, pg):
    """A closed, finalised evening session whose students' names try formula injection."""
    prof = class_data.professor(pg)
    session = class_data.class_session(pg, prof, course_code="INF-239", join_code="HJKMNP",
                                       created_at=LATE_EVENING)
    names = {
        "12345678-5": "=cmd()|' /C calc'!A0",
        "19876543-2": "+SUM(A1:A9)",
        "20111222-3": "-2+3",
        "18555444-K": "@HYPERLINK(\"http://x\")",
        "21000111-7": "\tTabulada; con punto y coma",
        "17222333-4": "Ñuñoa Muñoz, Pía",
    }
    ids = {rut: class_data.student(pg, rut, name) for rut, name in names.items()}
    class_data.complete(pg, session, ids["12345678-5"], status="PRESENT", certainty=93,
                        response_ms=(801, 1203, 1000), origin_ip="200.1.2.3")
    class_data.complete(pg, session, ids["19876543-2"], status="DOUBTFUL", certainty=41,
                        response_ms=(120, 4000, 300), failures=2)
    class_data.complete(pg, session, ids["20111222-3"], status="LATE", certainty=75,
                        joined_after=20 * class_data.MINUTE)
    for rut in ("18555444-K", "21000111-7", "17222333-4"):
        class_data.join(pg, session, ids[rut], origin_ip="10.1.1.1")
    await class_data.close(client, session, token("profesor", user_id=prof))
    return {"professor": prof, "session": session, "ids": ids, "names": names}


def parse_spreadsheet(raw: bytes) -> list[list[str]]:
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 byte-order mark first, so Excel picks UTF-8"
    text = raw.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", ""), "CRLF line ends only"
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


async def test_attendance_csv_opens_in_excel_with_neutralised_formulas(client, token, pg, classroom):
    headers = bearer(token("profesor", user_id=classroom["professor"], username="profesora@usm.cl"))
    override = await client.patch(f"/api/sessions/{classroom['session']}/attendance/{classroom['ids']['18555444-K']}",
                                  headers=headers, json={"status": "JUSTIFIED", "note": "=1+1 certificado"})
    assert override.status == 200

    response = await client.get(f"/api/sessions/{classroom['session']}/attendance.csv", headers=headers)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="asistencia_INF-239_2026-11-27_HJKMNP.csv"', "local date, not UTC's"
    rows = parse_spreadsheet(await response.read())

    assert rows[0] == ATTENDANCE_COLUMNS
    assert len(rows) == 1 + len(classroom["names"])
    by_rut = {row[0]: dict(zip(ATTENDANCE_COLUMNS, row)) for row in rows[1:]}
    assert set(by_rut) == set(classroom["names"]), "RUTs are written as they are"
    for rut, name in classroom["names"].items():
        written = by_rut[rut]["full_name"]
        if name[0] in "=+-@\t":
            assert written == "'" + name, f"{name!r} must not reach Excel as a formula"
        else:
            assert written == name
    assert by_rut["17222333-4"]["full_name"] == "Ñuñoa Muñoz, Pía"

    camila = by_rut["12345678-5"]
    assert (camila["status"], camila["computed_status"], camila["certainty"], camila["rounds_completed"]) == \
           ("PRESENT", "PRESENT", "93", "3")
    # Times in whole milliseconds: mean 1001.33 → 1001, population sd 164.1 → 164.
    assert (camila["rt_mean_ms"], camila["rt_sd_ms"], camila["rt_min_ms"], camila["rt_max_ms"],
            camila["rt_median_ms"]) == ("1001", "164", "801", "1203", "1000")
    assert camila["joined_at"] == "2026-11-27 22:31:00", "local time, a form Excel reads as a date"
    assert camila["origin_ip"] == "200.1.2.3"
    assert (camila["override_note"], camila["overridden_by"], camila["overridden_at"]) == ("", "", "")

    justified = by_rut["18555444-K"]
    assert (justified["status"], justified["computed_status"]) == ("JUSTIFIED", "ABSENT")
    assert justified["override_note"] == "'=1+1 certificado"
    assert justified["overridden_by"] == "profesora@usm.cl"
    assert datetime.datetime.strptime(justified["overridden_at"], "%Y-%m-%d %H:%M:%S")
    assert (justified["certainty"], justified["rt_mean_ms"]) == ("", "")


async def test_attendance_csv_takes_the_list_filters(client, token, classroom):
    response = await client.get(f"/api/sessions/{classroom['session']}/attendance.csv",
                                params={"status": "ABSENT", "sort": "-full_name"},
                                headers=bearer(token("profesor", user_id=classroom["professor"])))
    rows = parse_spreadsheet(await response.read())
    assert [row[0] for row in rows[1:]] == ["17222333-4", "18555444-K", "21000111-7"]
    bad = await client.get(f"/api/sessions/{classroom['session']}/attendance.csv?sort=rut;DROP",
                           headers=bearer(token("profesor", user_id=classroom["professor"])))
    assert await error_of(bad) == (400, "VALIDATION_FAILED")


async def test_legacy_export_has_exactly_hawaiis_fields(client, token, pg, classroom):
    headers = bearer(token("profesor", user_id=classroom["professor"]))
    response = await client.get(f"/api/sessions/{classroom['session']}/attendance/legacy", headers=headers)
    assert response.status == 200
    records = (await response.json())["records"]
    assert [list(record) for record in records] == [["session_code", "rut", "origin_ip", "certainty", "status"]] * 6
    assert [record["rut"] for record in records] == sorted(classroom["names"])
    by_rut = {record["rut"]: record for record in records}
    assert by_rut["12345678-5"] == {"session_code": "HJKMNP", "rut": "12345678-5", "origin_ip": "200.1.2.3",
                                    "certainty": 93, "status": "PRESENT"}
    assert by_rut["21000111-7"] == {"session_code": "HJKMNP", "rut": "21000111-7", "origin_ip": "10.1.1.1",
                                    "certainty": None, "status": "ABSENT"}

    csv_response = await client.get(f"/api/sessions/{classroom['session']}/attendance/legacy?format=csv",
                                    headers=headers)
    assert csv_response.status == 200
    assert csv_response.headers["Content-Disposition"] == 'attachment; filename="legacy_INF-239_HJKMNP.csv"'
    raw = await csv_response.read()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM for the PHP reader"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert rows[0] == ["session_code", "rut", "origin_ip", "certainty", "status"]
    assert rows[1:] == [[r["session_code"], r["rut"], r["origin_ip"],
                         "" if r["certainty"] is None else str(r["certainty"]), r["status"]] for r in records]


async def test_legacy_export_waits_for_the_session_to_close(client, token, pg):
    prof = class_data.professor(pg)
    professor_token = token("profesor", user_id=prof)
    headers = bearer(professor_token)
    student = class_data.student(pg, "12345678-5", "Camila")
    session = class_data.class_session(pg, prof, join_code="ABCDEF")
    class_data.join(pg, session, student)
    response = await client.get(f"/api/sessions/{session}/attendance/legacy", headers=headers)
    assert await error_of(response) == (422, "SESSION_NOT_CLOSED")

    await class_data.close(client, session, professor_token)
    response = await client.get(f"/api/sessions/{session}/attendance/legacy", headers=headers)
    assert [r["status"] for r in (await response.json())["records"]] == ["ABSENT"]

    bad = await client.get(f"/api/sessions/{session}/attendance/legacy?format=xml", headers=headers)
    assert await error_of(bad) == (400, "VALIDATION_FAILED")


@pytest.mark.parametrize("export", ["attendance.csv", "attendance/legacy", "attendance/legacy?format=csv"])
async def test_another_professor_cannot_export(client, token, pg, classroom, export):
    other = class_data.professor(pg, user_id=2002, username="otro@usm.cl")
    url = f"/api/sessions/{classroom['session']}/{export}"
    response = await client.get(url, headers=bearer(token("profesor", user_id=other)))
    assert await error_of(response) == (404, "SESSION_NOT_FOUND")
    assert (await client.get(url, headers=bearer(token("admin", user_id=1)))).status == 200


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\rx"])
def test_formula_triggers_are_neutralised(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["12345678-5", "Ana-María", "a=b", " =1", "'quoted", ""])
def test_ordinary_text_is_left_alone(text):
    assert neutralise(text) == text


def test_numbers_stay_numbers_even_when_negative():
    raw = spreadsheet_csv(["n", "x", "t", "when", "empty"],
                          [[-5, -2.25, "-5", datetime.datetime(2026, 3, 4, 5, 6, 7), None]])
    assert raw.decode("utf-8-sig").splitlines()[1] == "-5;-2,2;'-5;2026-03-04 05:06:07;"
    assert plain_csv(["x"], [[66.75]]).decode() == "x\r\n66.8\r\n"


def test_attachment_filenames_keep_only_safe_characters():
    assert attachment_filename("asistencia", "INF 239/Ñ\"x", "2026-11-27") == "asistencia_INF-239-x_2026-11-27.csv"
    assert attachment_filename("resumen", "MAT-021", "") == "resumen_MAT-021.csv"
