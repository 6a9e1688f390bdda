"""PATCH /api/sessions/{id}/attendance/{user_id}: audited overrides that finalisation keeps."""

from __future__ import annotations

import asyncio

import pytest

from tests import class_data
from tests.classroom import PROFESSOR_ID, open_session, projector, scanner, sighting
from tests.helpers import bearer, error_of


@pytest.fixture
def classroom(pg):
    """An active session: Camila completed PRESENT, Matías and Valentina still scanning."""
    prof = class_data.professor(pg)
    session = class_data.class_session(pg, prof)
    camila = class_data.student(pg, "12345678-5", "Camila Rojas Muñoz")
    matias = class_data.student(pg, "19876543-2", "Matías González Soto")
    valentina = class_data.student(pg, "20111222-3", "Valentina Díaz Pérez")
    class_data.complete(pg, session, camila, status="PRESENT", certainty=91)
    matias_registration = class_data.join(pg, session, matias)
    class_data.pass_rounds(pg, matias_registration, [1200])
    valentina_registration = class_data.join(pg, session, valentina)
    return {"professor": prof, "session": session, "camila": camila, "matias": matias,
            "matias_registration": matias_registration, "valentina": valentina,
            "valentina_registration": valentina_registration}


def url(classroom, student: str) -> str:
    return f"/api/sessions/{classroom['session']}/attendance/{classroom[student]}"


async def test_override_survives_finalisation_and_is_audited(client, token, pg, classroom):
    headers = bearer(token("profesor", user_id=classroom["professor"], full_name="Profesora Contreras"))

    # Before finalisation: Matías has no outcome yet; the override creates it.
    response = await client.patch(url(classroom, "matias"), headers=headers,
                                  json={"status": "JUSTIFIED", "note": "  Certificado médico  "})
    assert response.status == 200
    student = (await response.json())["student"]
    assert (student["status"], student["computed_status"], student["overridden"]) == ("JUSTIFIED", None, True)
    assert student["override"]["note"] == "Certificado médico"
    assert student["override"]["by"]["id"] == classroom["professor"]
    assert student["rounds_completed"] == 1, "live figures until the outcome is computed"
    stored = class_data.outcome_row(pg, classroom["session"], classroom["matias"])
    assert (stored["status"], stored["computed_status"], stored["overridden"]) == ("JUSTIFIED", None, True)

    # Camila's computed PRESENT is overridden to DOUBTFUL.
    response = await client.patch(url(classroom, "camila"), headers=headers,
                                  json={"status": "DOUBTFUL", "note": "Se retiró a los 10 minutos"})
    assert response.status == 200

    # Finalisation (twice: it must be repeatable) keeps both overrides.
    professor_token = token("profesor", user_id=classroom["professor"])
    await class_data.close(client, classroom["session"], professor_token)
    await class_data.close(client, classroom["session"], professor_token)
    matias = class_data.outcome_row(pg, classroom["session"], classroom["matias"])
    assert (matias["status"], matias["computed_status"], matias["rounds_completed"]) == ("JUSTIFIED", "ABSENT", 1)
    camila = class_data.outcome_row(pg, classroom["session"], classroom["camila"])
    assert (camila["status"], camila["computed_status"], camila["certainty"]) == ("DOUBTFUL", "PRESENT", 91)
    valentina = class_data.outcome_row(pg, classroom["session"], classroom["valentina"])
    assert (valentina["status"], valentina["overridden"]) == ("ABSENT", False), "others are finalised normally"

    assert class_data.override_audit(pg, classroom["session"], classroom["matias"]) == [
        (classroom["professor"], None, "JUSTIFIED", "Certificado médico")]
    assert class_data.override_audit(pg, classroom["session"], classroom["camila"]) == [
        (classroom["professor"], "PRESENT", "DOUBTFUL", "Se retiró a los 10 minutos")]

    # A later change after close is audited from the final status.
    response = await client.patch(url(classroom, "valentina"), headers=headers,
                                  json={"status": "PRESENT", "note": "Estaba; su teléfono falló"})
    assert response.status == 200
    assert class_data.override_audit(pg, classroom["session"], classroom["valentina"]) == [
        (classroom["professor"], "ABSENT", "PRESENT", "Estaba; su teléfono falló")]

    body = await (await client.get(f"/api/sessions/{classroom['session']}/attendance", headers=headers)).json()
    listed = {s["user_id"]: s for s in body["students"]}
    assert [(s["status"], s["computed_status"]) for s in
            (listed[classroom[name]] for name in ("camila", "matias", "valentina"))] == \
           [("DOUBTFUL", "PRESENT"), ("JUSTIFIED", "ABSENT"), ("PRESENT", "ABSENT")]
    history = listed[classroom["camila"]]["overrides"]
    assert [(h["from_status"], h["to_status"], h["note"], h["actor"]["full_name"]) for h in history] == [
        ("PRESENT", "DOUBTFUL", "Se retiró a los 10 minutos", "Profesora Contreras")]
    assert body["totals"]["JUSTIFIED"] == 1 and body["totals"]["DOUBTFUL"] == 1


async def test_override_before_completion_is_kept_when_the_outcome_is_computed(client, token, pg, classroom):
    headers = bearer(token("profesor", user_id=classroom["professor"]))
    response = await client.patch(url(classroom, "matias"), headers=headers,
                                  json={"status": "LATE", "note": "Llegó tarde; lo vi entrar"})
    assert response.status == 200
    class_data.pass_rounds(pg, classroom["matias_registration"], [1300, 1100])
    class_data.finish(pg, classroom["matias_registration"], status="PRESENT", certainty=80)
    stored = class_data.outcome_row(pg, classroom["session"], classroom["matias"])
    assert (stored["status"], stored["computed_status"], stored["certainty"], stored["rt_mean_ms"]) == \
           ("LATE", "PRESENT", 80, 1200.0)


async def test_concurrent_overrides_are_all_audited_in_order(client, token, pg, classroom):
    # Different actors, so nothing but the outcome row itself serialises them.
    actors = [token("profesor", user_id=classroom["professor"]),
              *(token("admin", user_id=user_id) for user_id in (1, 2, 3))]
    responses = await asyncio.gather(*(
        client.patch(url(classroom, "valentina"), headers=bearer(actor),
                     json={"status": status, "note": f"nota {status}"})
        for actor, status in zip(actors, ("PRESENT", "LATE", "JUSTIFIED", "DOUBTFUL"))))
    assert [r.status for r in responses] == [200] * 4
    audit = class_data.override_audit(pg, classroom["session"], classroom["valentina"])
    assert len(audit) == 4
    assert audit[0][1] is None, "the first override created the outcome"
    for earlier, later in zip(audit, audit[1:]):
        assert later[1] == earlier[2], "each change starts from the status the previous one set"
    stored = class_data.outcome_row(pg, classroom["session"], classroom["valentina"])
    assert stored["status"] == audit[-1][2]


async def _watching_dashboard(client, professor_token: str, session_id: int):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": professor_token})
    assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
    await ws.send_json({"type": "watch", "id": 1, "session": session_id})
    snapshot = await ws.receive_json(timeout=5)
    assert snapshot["type"] == "result", snapshot
    return ws, snapshot["data"]


async def test_a_watching_dashboard_receives_the_override_without_the_note(client, token, classroom):
    professor = token("profesor", user_id=classroom["professor"])
    ws, snapshot = await _watching_dashboard(client, professor, classroom["session"])
    try:
        response = await client.patch(url(classroom, "camila"), headers=bearer(professor),
                                      json={"status": "JUSTIFIED", "note": "Diagnóstico privado"})
        assert response.status == 200
        message = await ws.receive_json(timeout=5)
    finally:
        await ws.close()
    assert (message["type"], message["event"]) == ("event", "override")
    data = message["data"]
    assert (data["session"], data["user_id"]) == (classroom["session"], classroom["camila"])
    assert (data["status"], data["computed_status"], data["overridden_by"]) == \
           ("JUSTIFIED", "PRESENT", classroom["professor"])
    assert data["overridden_at"].endswith("Z"), "times on the wire are UTC"
    assert data["counters"]["version"] > snapshot["session"]["counters"]["version"]
    assert "Diagnóstico" not in str(message)


def _counted(counters: dict) -> dict:
    return {name: number for name, number in counters.items() if name != "version" and number}


async def test_counters_follow_overrides_and_keep_an_overridden_student_where_it_put_them(
        client, token, pg, classroom):
    professor = token("profesor", user_id=classroom["professor"])
    headers = bearer(professor)
    session_url = f"/api/sessions/{classroom['session']}"
    before = (await (await client.get(session_url, headers=headers)).json())["counters"]
    assert _counted(before) == {"joined": 3, "in_progress": 2, "present": 1}

    ws, _ = await _watching_dashboard(client, professor, classroom["session"])
    try:
        # Matías is still scanning: justified now, he counts as justified, not in progress.
        response = await client.patch(url(classroom, "matias"), headers=headers,
                                      json={"status": "JUSTIFIED", "note": "Certificado médico"})
        assert response.status == 200
        event = await ws.receive_json(timeout=5)
    finally:
        await ws.close()
    assert _counted(event["data"]["counters"]) == {"joined": 3, "in_progress": 1, "present": 1, "justified": 1}

    # Camila's PRESENT becomes DOUBTFUL; Matías completing afterwards moves nothing.
    response = await client.patch(url(classroom, "camila"), headers=headers,
                                  json={"status": "DOUBTFUL", "note": "Se retiró temprano"})
    assert response.status == 200
    class_data.pass_rounds(pg, classroom["matias_registration"], [1300, 1100])
    class_data.finish(pg, classroom["matias_registration"], status="PRESENT", certainty=80)
    counters = (await (await client.get(session_url, headers=headers)).json())["counters"]
    assert _counted(counters) == {"joined": 3, "in_progress": 1, "doubtful": 1, "justified": 1}

    # Closing makes Valentina absent; Matías stays justified; an override after close moves her.
    closed = await class_data.close(client, classroom["session"], professor)
    assert _counted(closed["counters"]) == {"joined": 3, "doubtful": 1, "justified": 1, "absent": 1}
    response = await client.patch(url(classroom, "valentina"), headers=headers,
                                  json={"status": "LATE", "note": "Llegó con el teléfono descargado"})
    assert response.status == 200
    counters = (await (await client.get(session_url, headers=headers)).json())["counters"]
    assert _counted(counters) == {"joined": 3, "late": 1, "doubtful": 1, "justified": 1}


@pytest.mark.parametrize(("body", "fields"), [
    ({"status": "EXCUSED", "note": "x"}, {"status"}),
    ({"status": "IN_PROGRESS", "note": "x"}, {"status"}),
    ({"status": "PRESENT", "note": "   "}, {"note"}),
    ({"status": "PRESENT"}, {"note"}),
    ({"note": "falta el estado"}, {"status"}),
    ({"status": "PRESENT", "note": "x" * 1001}, {"note"}),
    ({"status": "PRESENT", "note": "ok", "certainty": 100}, {"certainty"}),
])
async def test_bad_override_bodies_are_refused_and_change_nothing(client, token, pg, classroom, body, fields):
    response = await client.patch(url(classroom, "camila"), json=body,
                                  headers=bearer(token("profesor", user_id=classroom["professor"])))
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    assert set((await response.json())["error"]["fields"]) == fields
    assert class_data.outcome_row(pg, classroom["session"], classroom["camila"])["overridden"] is False
    assert class_data.override_audit(pg, classroom["session"], classroom["camila"]) == []


@pytest.mark.parametrize(("path", "fields"), [
    ("/api/sessions/abc/attendance/5", {"id"}),
    ("/api/sessions/1/attendance/me", {"user_id"}),
    ("/api/sessions/x/attendance/-4", {"id", "user_id"}),
])
async def test_bad_ids_in_the_path_are_refused(client, token, classroom, path, fields):
    response = await client.patch(path, json={"status": "PRESENT", "note": "x"},
                                  headers=bearer(token("profesor", user_id=classroom["professor"])))
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    assert set((await response.json())["error"]["fields"]) == fields


async def test_another_professor_cannot_override_but_an_admin_can(client, token, pg, classroom):
    other = class_data.professor(pg, user_id=2002, username="otro@usm.cl")
    body = {"status": "ABSENT", "note": "no estaba"}
    response = await client.patch(url(classroom, "camila"), json=body, headers=bearer(token("profesor", user_id=other)))
    assert await error_of(response) == (404, "SESSION_NOT_FOUND")
    assert class_data.override_audit(pg, classroom["session"], classroom["camila"]) == []

    # The admin has never acted before: the override records them as a user too.
    response = await client.patch(url(classroom, "camila"), json=body,
                                  headers=bearer(token("admin", user_id=7, username="admin@usm.cl")))
    assert response.status == 200
    assert (await response.json())["student"]["override"]["by"] == {"id": 7, "username": "admin@usm.cl",
                                                                    "full_name": None}
    assert class_data.override_audit(pg, classroom["session"], classroom["camila"]) == [
        (7, "PRESENT", "ABSENT", "no estaba")]


async def test_a_student_who_did_not_join_cannot_be_overridden(client, token, pg, classroom):
    stranger = class_data.student(pg, "21000111-7", "Isidora Castillo Vera")
    response = await client.patch(f"/api/sessions/{classroom['session']}/attendance/{stranger}",
                                  json={"status": "PRESENT", "note": "vino"},
                                  headers=bearer(token("profesor", user_id=classroom["professor"])))
    assert await error_of(response) == (404, "REGISTRATION_NOT_FOUND")
    response = await client.patch(f"/api/sessions/424242/attendance/{stranger}",
                                  json={"status": "PRESENT", "note": "vino"},
                                  headers=bearer(token("profesor", user_id=classroom["professor"])))
    assert await error_of(response) == (404, "SESSION_NOT_FOUND")


async def test_cancelled_sessions_cannot_be_overridden(client, token, pg, classroom):
    class_data.cancel(pg, classroom["session"])
    response = await client.patch(url(classroom, "camila"), json={"status": "ABSENT", "note": "x"},
                                  headers=bearer(token("profesor", user_id=classroom["professor"])))
    assert await error_of(response) == (422, "SESSION_CANCELLED")


async def test_students_cannot_override(client, token, classroom):
    response = await client.patch(url(classroom, "camila"), json={"status": "PRESENT", "note": "yo"},
                                  headers=bearer(token("alumno", user_id=classroom["camila"])))
    assert await error_of(response) == (403, "ROLE_FORBIDDEN")


async def test_an_override_racing_the_last_scan_leaves_the_student_counted_once_as_overridden(
        make_client, config, token, ready_student, pg):
    """Whichever commits first, the justified student ends in `justified`, never also in `present`."""
    client = await make_client(config.replace(countdown_seconds=0, qr_tick_ms=40, qr_min_pool=4))
    professor = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, professor, rounds=1)
    phone = scanner(client, await ready_student(101))
    await phone.join(session["join_code"])
    async with projector(client, professor, session["id"]) as screen:
        seen = await sighting(phone, screen)
        scanned, overridden = await asyncio.gather(
            phone.answer(seen),
            client.patch(f"/api/sessions/{session['id']}/attendance/101", headers=bearer(professor),
                         json={"status": "JUSTIFIED", "note": "Justificado mientras escaneaba"}))
    assert scanned["result"] == "completed" and overridden.status == 200
    read = await (await client.get(f"/api/sessions/{session['id']}", headers=bearer(professor))).json()
    assert _counted(read["counters"]) == {"joined": 1, "justified": 1}
    stored = class_data.outcome_row(pg, session["id"], 101)
    assert (stored["status"], stored["overridden"]) == ("JUSTIFIED", True)
