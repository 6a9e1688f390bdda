"""Secrets at rest and revocations that hold (SPEC §3.2), from the outside: what a Valkey
dump gives away, and what a key that outlived its device can still do."""

from __future__ import annotations

import base64

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from asistencia.store import session_keys
from tests.classroom import PROFESSOR_ID, open_session, projector, scanner, sighting
from tests.phones import refusal


def _forms(key: bytes) -> list[bytes]:
    """The ways a 32-byte key could sit in a value: raw, hex, base64 and base64url (padded or not)."""
    b64, b64url = base64.b64encode(key), base64.urlsafe_b64encode(key)
    return [key, key.hex().encode(), key.hex().upper().encode(), b64, b64.rstrip(b"="), b64url, b64url.rstrip(b"=")]


async def _every_value(valkey) -> dict[str, bytes]:
    """Every key under the test's prefix with everything it holds, whatever its type, as bytes."""
    client = valkey.client
    found = {}
    async for name in client.scan_iter(match=valkey.prefix + "*", count=500):
        kind = (await client.type(name)).decode()
        if kind == "string":
            parts = [await client.get(name)]
        elif kind == "hash":
            parts = [item for pair in (await client.hgetall(name)).items() for item in pair]
        elif kind == "zset":
            parts = [member for member, _ in await client.zrange(name, 0, -1, withscores=True)]
        elif kind == "set":
            parts = list(await client.smembers(name))
        elif kind == "list":
            parts = await client.lrange(name, 0, -1)
        else:
            raise AssertionError(f"{name!r} is a {kind}: teach this test to read it")
        found[name.decode()] = name + b"\n" + b"\n".join(parts)
    return found


@pytest.fixture
def quick(config):
    return config.replace(countdown_seconds=0, qr_tick_ms=40, qr_min_pool=4)


async def test_a_valkey_dump_of_a_live_class_holds_no_session_key(make_client, quick, token, ready_student, valkey):
    client = await make_client(quick)
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof, rounds=2)
    students = [await ready_student(user_id) for user_id in (101, 102, 103)]
    phones = [scanner(client, student) for student in students]
    for phone in phones:
        await phone.join(session["join_code"])
    async with projector(client, prof, session["id"]) as screen:
        assert (await phones[0].answer(await sighting(phones[0], screen)))["result"] == "partial"
        assert (await phones[1].answer(await sighting(phones[1], screen)))["result"] == "partial"
        dump = await _every_value(valkey)
    assert any(":session_key:" in name for name in dump), "the dump should hold the (wrapped) session keys"
    assert any(":scan_reply:" in name for name in dump) and any(":qr:" in name for name in dump)
    for student in students:
        for form in _forms(student.session_key):
            holding = [name for name, value in dump.items() if form in value]
            assert not holding, f"student {student.id}'s session key is readable in {holding}"


async def test_a_revoked_device_s_key_restored_into_valkey_is_still_refused(make_client, quick, token, ready_student,
                                                                            valkey):
    client = await make_client(quick)
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof, rounds=2)
    student = await ready_student(101)
    phone = scanner(client, student)
    await phone.join(session["join_code"])
    async with projector(client, prof, session["id"]) as screen:
        seen = await sighting(phone, screen)
        # Someone with access to Valkey saves everything, waits for the revocation, puts it all back.
        names = [name async for name in valkey.client.scan_iter(match=valkey.prefix + "*")]
        saved = {name: await valkey.client.dump(name) for name in names}
        response = await client.delete(f"/api/enrollment/devices/{student.device_id}",
                                       headers={"Authorization": f"Bearer {student.token}"})
        assert response.status == 200 and (await response.json())["device"]["status"] == "revoked"
        assert await session_keys.load(valkey, quick.session_key_ring, 101) is None
        for name, value in saved.items():
            await valkey.client.restore(name, 0, value, replace=True)
        restored = await session_keys.load(valkey, quick.session_key_ring, 101)
        assert restored is not None and restored.key == student.session_key
        assert await refusal(phone.submit(seen.text, phone.proof_for(seen.payload))) == (422, "NOT_READY")
        assert await refusal(phone.join(session["join_code"])) == (422, "NOT_READY")
    status = await phone.status()
    assert (status["state"], status["rounds_completed"], status["status"]) == ("scanning", 0, None)


async def test_a_revoke_whose_key_delete_fails_says_503_holds_anyway_and_finishes_when_repeated(
        make_client, quick, token, ready_student, valkey, monkeypatch):
    client = await make_client(quick)
    session = await open_session(client, token("profesor", user_id=PROFESSOR_ID))
    student = await ready_student(101)
    phone = scanner(client, student)
    await phone.join(session["join_code"])
    headers = {"Authorization": f"Bearer {student.token}"}
    delete_for_device = session_keys.delete_for_device

    async def lost(*args):
        raise RedisConnectionError("Valkey went away")

    monkeypatch.setattr(session_keys, "delete_for_device", lost)
    response = await client.delete(f"/api/enrollment/devices/{student.device_id}", headers=headers)
    assert response.status == 503 and (await response.json())["error"]["code"] == "DEPENDENCY_DOWN"
    assert await session_keys.load(valkey, quick.session_key_ring, 101) is not None  # the key outlived the revoke
    assert await refusal(phone.join(session["join_code"])) == (422, "NOT_READY")  # and is worth nothing

    monkeypatch.setattr(session_keys, "delete_for_device", delete_for_device)
    response = await client.delete(f"/api/enrollment/devices/{student.device_id}", headers=headers)
    assert response.status == 200 and (await response.json())["device"]["status"] == "revoked"
    assert await session_keys.load(valkey, quick.session_key_ring, 101) is None


async def test_revoking_an_old_device_leaves_the_current_login_alone(make_client, quick, token, ready_student, valkey):
    client = await make_client(quick)
    session = await open_session(client, token("profesor", user_id=PROFESSOR_ID))
    old = await ready_student(101)
    new = await ready_student(101)  # a new phone replaced the old one
    headers = {"Authorization": f"Bearer {new.token}"}
    response = await client.delete(f"/api/enrollment/devices/{old.device_id}", headers=headers)
    assert response.status == 200
    assert (await session_keys.load(valkey, quick.session_key_ring, 101)).device_id == new.device_id
    assert (await scanner(client, new).join(session["join_code"]))["state"] == "scanning"
