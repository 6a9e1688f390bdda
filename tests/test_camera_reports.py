"""A scanner's camera report (issue 11): a student whose camera is denied or missing is shown
as such on the dashboard, live and in the snapshot, instead of looking "still scanning"."""

from __future__ import annotations

import pytest

from aiohttp import WSMsgType

from tests.classroom import PROFESSOR_ID, open_session


@pytest.fixture
def prof(token):
    return token("profesor", user_id=PROFESSOR_ID)


async def _socket(client, token: str):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": token})
    assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
    return ws


async def _ask(ws, message_id: int, **message) -> dict:
    await ws.send_json({**message, "id": message_id})
    while True:
        reply = await ws.receive_json(timeout=5)
        if reply.get("id") == message_id:
            return reply


async def test_a_denied_camera_reaches_the_dashboard_live_and_in_its_snapshot(client, prof, ready_student):
    session = await open_session(client, prof, rounds=2)
    student = await ready_student(301, full_name="Ana Soto")
    phone = await _socket(client, student.token)
    dashboard = await _socket(client, prof)
    try:
        joined = await _ask(phone, 1, type="join", code=session["join_code"])
        assert joined["type"] == "result", joined
        watched = await _ask(dashboard, 1, type="watch", session=session["id"])
        assert [row["camera"] for row in watched["data"]["students"]] == [None]

        reply = await _ask(phone, 2, type="camera", session=session["id"], state="CAMERA_DENIED")
        assert reply == {"type": "result", "id": 2, "data": {}}
        event = await dashboard.receive_json(timeout=5)
        assert (event["type"], event["event"]) == ("event", "camera")
        assert event["data"] == {"session": session["id"], "user_id": 301, "camera": "CAMERA_DENIED"}

        again = await _socket(client, prof)
        try:
            snapshot = await _ask(again, 1, type="watch", session=session["id"])
        finally:
            await again.close()
        assert [(row["user_id"], row["camera"]) for row in snapshot["data"]["students"]] == [(301, "CAMERA_DENIED")]
    finally:
        await phone.close()
        await dashboard.close()


@pytest.mark.parametrize(("message", "code"), [
    ({"state": "CAMERA_MAYBE"}, "VALIDATION_FAILED"),
    ({"state": "CAMERA_OK", "extra": 1}, "VALIDATION_FAILED"),
    ({"state": "CAMERA_OK", "session": "1"}, "VALIDATION_FAILED"),
    ({"state": "CAMERA_OK", "session": 999999}, "NOT_JOINED"),
])
async def test_bad_or_foreign_camera_reports_are_refused(client, prof, ready_student, message, code):
    session = await open_session(client, prof)
    student = await ready_student(302)
    phone = await _socket(client, student.token)
    try:
        assert (await _ask(phone, 1, type="join", code=session["join_code"]))["type"] == "result"
        reply = await _ask(phone, 2, type="camera", **{"session": session["id"], **message})
    finally:
        await phone.close()
    assert reply["type"] == "error" and reply["error"]["code"] == code, reply


async def test_only_a_student_who_joined_on_this_socket_reports(client, prof, ready_student):
    session = await open_session(client, prof)
    student = await ready_student(303)
    phone = await _socket(client, student.token)
    try:
        # Joined on another socket (or not at all): this one has nothing to report about.
        joined_elsewhere = await _socket(client, student.token)
        assert (await _ask(joined_elsewhere, 1, type="join", code=session["join_code"]))["type"] == "result"
        await joined_elsewhere.close()
        not_joined = await _ask(phone, 1, type="camera", session=session["id"], state="CAMERA_OK")
    finally:
        await phone.close()
    assert not_joined["error"]["code"] == "NOT_JOINED"

    professor = await _socket(client, prof)
    await professor.send_json({"type": "camera", "id": 1, "session": session["id"], "state": "CAMERA_OK"})
    closing = await professor.receive(timeout=5)
    assert (closing.type, closing.data) == (WSMsgType.CLOSE, 4403)
