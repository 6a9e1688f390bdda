"""Changing phones (SPEC §3.1), from the outside: the first phone counts at once; a phone that
replaces it waits for the cool-off or a professor's approval, audited, and the old one keeps
working until then."""

from __future__ import annotations

import pytest

from tests.classroom import PROFESSOR_ID, open_session, projector, scanner, sighting
from tests.helpers import bearer
from tests.phones import phone, refusal
from tests.students import make_ready


@pytest.fixture
def cool_off(config):
    return config.replace(device_cool_off_hours=24, countdown_seconds=0, qr_tick_ms=40, qr_min_pool=4)


async def _ready(client, config, token, user_id: int):
    from asistencia.tokens import User
    user = User(user_id, f"rut-{user_id}", "alumno", f"Estudiante {user_id}")
    return await make_ready(client, config, user, token("alumno", user_id=user_id, username=user.username,
                                                         full_name=user.full_name))


async def test_a_replacement_waits_and_counts_once_a_professor_approves_it(make_client, cool_off, token, pg):
    client = await make_client(cool_off)
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof, rounds=2)
    old = await _ready(client, cool_off, token, 101)  # the first phone counts at once
    new_phone = phone(client, cool_off, old.token)
    device = await new_phone.enroll()
    assert device["status"] == "pending" and device["activates_at"] is not None
    state = await new_phone.access_state()
    assert (state["state"], state["reason"], state["next_action"]) == \
        ("BLOCKED", "REPLACEMENT_PENDING", "WAIT_FOR_APPROVAL")
    # Not counted before approval: the new phone gets no session key (so no join, no scan)...
    assert await refusal(new_phone.login()) == (422, "DEVICE_PENDING")
    # ...while the old phone still works.
    old_scanner = scanner(client, old)
    await old_scanner.join(session["join_code"])

    pending = await client.get("/api/devices/pending", headers=bearer(prof))
    assert [(d["id"], d["user_id"]) for d in (await pending.json())["devices"]] == [(device["id"], 101)]
    student_try = await client.post(f"/api/devices/{device['id']}/approve", headers=bearer(old.token))
    assert student_try.status == 403
    approved = await client.post(f"/api/devices/{device['id']}/approve", headers=bearer(prof))
    assert approved.status == 200 and (await approved.json())["device"]["status"] == "enrolled"
    again = await client.post(f"/api/devices/{device['id']}/approve", headers=bearer(prof))
    assert again.status == 404 and (await again.json())["error"]["code"] == "DEVICE_NOT_PENDING"
    assert (await (await client.get("/api/devices/pending", headers=bearer(prof))).json())["devices"] == []

    assert await refusal(old_scanner.join(session["join_code"])) == (422, "NOT_READY")  # the old phone is done
    new = scanner(client, old.__class__(old.user, old.token, (await new_phone.login()).key, device["id"]))
    await new.join(session["join_code"])
    async with projector(client, prof, session["id"]) as screen:
        assert (await new.answer(await sighting(new, screen)))["result"] == "partial"
    with pg.cursor() as cur:
        cur.execute("SELECT device_id, actor_id, action, coalesce(to_status, ''), reason FROM device_audit "
                    "WHERE user_id = 101 AND action IN ('registered', 'approved', 'enrolled', 'revoked') ORDER BY id")
        assert cur.fetchall() == [
            (old.device_id, 101, "registered", "pending", ""), (old.device_id, 101, "enrolled", "enrolled", ""),
            (device["id"], 101, "registered", "pending", ""), (device["id"], PROFESSOR_ID, "approved", "", ""),
            (old.device_id, PROFESSOR_ID, "revoked", "revoked", "replaced_by_new_device"),
            (device["id"], PROFESSOR_ID, "enrolled", "enrolled", "approved")]


async def test_a_replacement_counts_by_itself_once_the_cool_off_is_over(make_client, cool_off, token, pg):
    client = await make_client(cool_off)
    old = await _ready(client, cool_off, token, 101)
    new_phone = phone(client, cool_off, old.token)
    device = await new_phone.enroll()
    with pg.cursor() as cur:
        cur.execute("UPDATE devices SET activates_at = now() - interval '1 second' WHERE id = %s", (device["id"],))
    await new_phone.login()
    assert {d["id"]: d["status"] for d in await new_phone.devices()} == \
        {device["id"]: "enrolled", old.device_id: "revoked"}
    with pg.cursor() as cur:
        cur.execute("SELECT reason FROM device_audit WHERE device_id = %s AND action = 'enrolled'", (device["id"],))
        assert cur.fetchall() == [("cool_off_elapsed",)]


async def test_a_newer_replacement_supersedes_the_waiting_one(make_client, cool_off, token):
    client = await make_client(cool_off)
    old = await _ready(client, cool_off, token, 101)
    first = await phone(client, cool_off, old.token).enroll()
    second = await phone(client, cool_off, old.token).enroll()
    statuses = {d["id"]: (d["status"], d["revoked_reason"]) for d in await phone(client, cool_off, old.token).devices()}
    assert statuses == {old.device_id: ("enrolled", None), first["id"]: ("revoked", "superseded_by_new_device"),
                        second["id"]: ("pending", None)}
