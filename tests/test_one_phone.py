"""One phone, one student (SPEC §3.1), from the outside: a phone id live for one student
never serves another, so one browser cannot carry a group through a class."""

from __future__ import annotations

import asyncio
import secrets

from asistencia.client import Authenticator
from asistencia.tokens import User
from tests.classroom import PROFESSOR_ID, open_session, projector, scanner
from tests.phones import phone, refusal
from tests.students import ReadyStudent


async def test_three_students_on_one_phone_give_at_most_one_present(client, config, token, pg):
    fingerprint = secrets.token_urlsafe(16)
    tokens = [token("alumno", user_id=user_id) for user_id in (101, 102, 103)]
    phones = [phone(client, config, t, fingerprint=fingerprint) for t in tokens]
    first = await phones[0].enroll()
    for other in phones[1:]:
        assert await refusal(other.enroll()) == (409, "FINGERPRINT_IN_USE")
    session = await open_session(client, token("profesor", user_id=PROFESSOR_ID), rounds=2)
    login = await phones[0].login()
    student = ReadyStudent(User(101, "user-101", "alumno", None), tokens[0], login.key, first["id"])
    one = scanner(client, student, answer_delay=lambda: 0.5)
    await one.join(session["join_code"])
    for other in phones[1:]:  # not READY: no device, no session key
        assert await refusal(other.login()) == (422, "NOT_ENROLLED")
    async with projector(client, token("profesor", user_id=PROFESSOR_ID), session["id"]) as screen:
        reply = await asyncio.wait_for(one.run(screen.watch()), 30)
    assert reply["result"] == "completed"
    with pg.cursor() as cur:
        cur.execute("SELECT user_id FROM registrations")
        assert cur.fetchall() == [(101,)]
        cur.execute("SELECT user_id, status FROM devices")
        assert cur.fetchall() == [(101, "enrolled")]


async def test_the_phone_is_refused_at_verify_too_when_another_student_enrolled_it_meanwhile(client, config, token):
    fingerprint = secrets.token_urlsafe(16)
    first = phone(client, config, token("alumno", user_id=101), fingerprint=fingerprint)
    second = phone(client, config, token("alumno", user_id=102), fingerprint=fingerprint)
    options = await second.enrollment_options()  # asked before the phone was anyone's
    await first.enroll()
    credential = second.authenticator.create(options)
    assert await refusal(second.verify_enrollment(credential)) == (409, "FINGERPRINT_IN_USE")


async def test_a_phone_that_changes_hands_is_revoked_first_then_enrolls_for_its_new_owner(client, config, token):
    fingerprint = secrets.token_urlsafe(16)
    old_owner = phone(client, config, token("alumno", user_id=101), fingerprint=fingerprint)
    device = await old_owner.enroll()
    new_owner = phone(client, config, token("alumno", user_id=102), fingerprint=fingerprint)
    assert await refusal(new_owner.enroll()) == (409, "FINGERPRINT_IN_USE")
    await old_owner.revoke(device["id"])
    assert (await new_owner.enroll())["status"] == "enrolled"
    # The same student enrolling the same phone again (a new passkey) is no second student.
    again = phone(client, config, token("alumno", user_id=102), fingerprint=fingerprint,
                  authenticator=Authenticator(rp_id=config.webauthn_rp_id, origin=config.webauthn_origin))
    assert (await again.enroll())["status"] == "enrolled"


async def _flags(client, prof: str, session_id: int) -> dict[int, tuple[bool, bool]]:
    response = await client.get(f"/api/sessions/{session_id}/attendance", headers={"Authorization": f"Bearer {prof}"})
    assert response.status == 200, await response.text()
    return {s["user_id"]: (s["shared_phone"], s["new_phone"]) for s in (await response.json())["students"]}


async def test_the_lists_flag_a_phone_that_served_two_students_and_a_phone_new_today(client, config, token):
    """A phone handed over mid-class (revoked by one, enrolled by the next) carried two students of
    one session: both rows say so. A student who replaced their phone today is marked too."""
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof)
    fingerprint = secrets.token_urlsafe(16)
    first = phone(client, config, token("alumno", user_id=101), fingerprint=fingerprint)
    device = await first.enroll()
    student = ReadyStudent(User(101, "user-101", "alumno"), first.token, (await first.login()).key, device["id"])
    await scanner(client, student).join(session["join_code"])
    assert await _flags(client, prof, session["id"]) == {101: (False, False)}
    await first.revoke(device["id"])

    second = phone(client, config, token("alumno", user_id=102), fingerprint=fingerprint)
    device = await second.enroll()
    student = ReadyStudent(User(102, "user-102", "alumno"), second.token, (await second.login()).key, device["id"])
    await scanner(client, student).join(session["join_code"])

    third_token = token("alumno", user_id=103)
    await phone(client, config, third_token).enroll()
    replacement = phone(client, config, third_token)
    device = await replacement.enroll()
    student = ReadyStudent(User(103, "user-103", "alumno"), third_token, (await replacement.login()).key, device["id"])
    await scanner(client, student).join(session["join_code"])

    assert await _flags(client, prof, session["id"]) == {101: (True, False), 102: (True, False), 103: (False, True)}
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": prof})
        await ws.receive_json(timeout=5)
        await ws.send_json({"type": "watch", "id": 1, "session": session["id"]})
        snapshot = (await ws.receive_json(timeout=5))["data"]
    assert {s["user_id"]: (s["shared_phone"], s["new_phone"]) for s in snapshot["students"]} == \
        {101: (True, False), 102: (True, False), 103: (False, True)}
