"""Passkey enrollment and own devices (SPEC §3.1) through the HTTP API, real PostgreSQL and Valkey."""

from __future__ import annotations

import pytest

from asistencia.crypto import b64url_decode
from tests.helpers import bearer, error_of
from tests.phones import phone, refusal, stored_session_key

ALICE, BOB = 101, 202


def audit_of(pg, user_id: int) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute("SELECT device_id, actor_id, action, from_status, to_status, reason FROM device_audit "
                    "WHERE user_id = %s ORDER BY id", (user_id,))
        return cur.fetchall()


async def test_creation_options_follow_the_config(client, config, token):
    alice = phone(client, config, token(user_id=ALICE, username="11111111-1", full_name="Alicia Pérez"))
    options = await alice.enrollment_options()
    assert options["rp"] == {"id": config.webauthn_rp_id, "name": config.webauthn_rp_name}
    assert options["user"]["name"] == "11111111-1" and options["user"]["displayName"] == "Alicia Pérez"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -257]
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert options["excludeCredentials"] == []
    assert len(b64url_decode(options["challenge"])) == 32

    await alice.enroll()
    options = await alice.enrollment_options()
    assert [c["id"] for c in options["excludeCredentials"]] == [alice.authenticator.credential_id_text]


async def test_enrolling_stores_the_device_and_audits_it(client, config, token, pg):
    alice = phone(client, config, token(user_id=ALICE, username="11111111-1"), fingerprint="alice-phone")
    device = await alice.enroll()
    assert device["status"] == "enrolled" and device["fingerprint"] == "alice-phone"
    assert device["credential_id"] == alice.authenticator.credential_id_text
    with pg.cursor() as cur:
        cur.execute("SELECT user_id, credential_id, public_key, sign_count, aaguid::text, transports, fingerprint, "
                    "status, enrolled_at IS NOT NULL, revoked_at FROM devices")
        (row,) = cur.fetchall()
        cur.execute("SELECT username, role FROM users WHERE id = %s", (ALICE,))
        assert cur.fetchone() == ("11111111-1", "alumno")
    user_id, credential_id, public_key, sign_count, aaguid, transports, fingerprint, status, enrolled, revoked = row
    assert (user_id, bytes(credential_id)) == (ALICE, alice.authenticator.credential_id)
    assert len(bytes(public_key)) > 64 and sign_count == 0
    assert aaguid == "00000000-0000-0000-0000-000000000000" and transports == ["internal"]
    assert (fingerprint, status, enrolled, revoked) == ("alice-phone", "enrolled", True, None)
    assert audit_of(pg, ALICE) == [
        (device["id"], ALICE, "registered", None, "pending", ""),
        (device["id"], ALICE, "enrolled", "pending", "enrolled", ""),
    ]


async def test_a_second_device_revokes_the_first_and_ends_its_login(client, config, token, pg):
    alice_token = token(user_id=ALICE)
    old = phone(client, config, alice_token)
    first = await old.enroll()
    await old.login()
    assert await stored_session_key(client, ALICE) is not None

    new = phone(client, config, alice_token)
    second = await new.enroll()
    assert await stored_session_key(client, ALICE) is None
    listed = {d["id"]: d for d in await new.devices()}
    assert listed[first["id"]]["status"] == "revoked"
    assert listed[first["id"]]["revoked_reason"] == "replaced_by_new_device"
    assert listed[second["id"]]["status"] == "enrolled"
    assert (first["id"], ALICE, "revoked", "enrolled", "revoked", "replaced_by_new_device") in audit_of(pg, ALICE)
    assert await refusal(old.login()) == (422, "DEVICE_REVOKED")


async def test_replaying_an_enrollment_is_refused(client, config, token):
    alice = phone(client, config, token(user_id=ALICE))
    credential = alice.authenticator.create(await alice.enrollment_options())
    await alice.verify_enrollment(credential)
    assert await refusal(alice.verify_enrollment(credential)) == (409, "CHALLENGE_USED")


async def test_verifying_without_options_means_the_challenge_is_gone(client, config, token):
    alice = phone(client, config, token(user_id=ALICE))
    credential = alice.authenticator.create({"challenge": "AAAA", "rp": {"id": config.webauthn_rp_id},
                                             "pubKeyCredParams": [{"type": "public-key", "alg": -7}]})
    assert await refusal(alice.verify_enrollment(credential)) == (410, "CHALLENGE_EXPIRED")


async def test_answering_stale_options_is_a_challenge_mismatch(client, config, token):
    alice = phone(client, config, token(user_id=ALICE))
    stale = await alice.enrollment_options()
    await alice.enrollment_options()
    assert await refusal(alice.verify_enrollment(alice.authenticator.create(stale))) == (422, "CHALLENGE_MISMATCH")


async def test_another_students_challenge_does_not_count(client, config, token):
    alice = phone(client, config, token(user_id=ALICE))
    bob = phone(client, config, token(user_id=BOB), fingerprint=alice.fingerprint)
    credential = bob.authenticator.create(await alice.enrollment_options())
    assert await refusal(bob.verify_enrollment(credential)) == (410, "CHALLENGE_EXPIRED")


@pytest.mark.parametrize(("quirk", "code"), [
    ({"origin": "https://evil.example"}, "ORIGIN_MISMATCH"),
    ({"rp_id": "evil.example"}, "RP_ID_MISMATCH"),
    ({"user_verified": False}, "USER_VERIFICATION_MISSING"),
])
async def test_bad_registrations_are_refused_each_with_its_code(client, config, token, pg, quirk, code):
    alice = phone(client, config, token(user_id=ALICE))
    assert await refusal(alice.enroll(**quirk)) == (422, code)
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM devices")
        assert cur.fetchone() == (0,)


async def test_a_credential_registers_only_once(client, config, token):
    alice = phone(client, config, token(user_id=ALICE))
    await alice.enroll()
    assert await refusal(alice.enroll()) == (409, "CREDENTIAL_EXISTS")
    bob = phone(client, config, token(user_id=BOB), authenticator=alice.authenticator)
    assert await refusal(bob.enroll()) == (409, "CREDENTIAL_EXISTS")
    assert [d["status"] for d in await alice.devices()] == ["enrolled"]
    assert await bob.devices() == []


async def test_the_fingerprint_must_be_the_phone_that_asked(client, config, token):
    alice = phone(client, config, token(user_id=ALICE), fingerprint="phone-a")
    credential = alice.authenticator.create(await alice.enrollment_options())
    alice.fingerprint = "phone-b"
    assert await refusal(alice.verify_enrollment(credential)) == (422, "FINGERPRINT_MISMATCH")


async def test_malformed_input_is_refused_without_spending_the_challenge(client, config, token):
    alice = phone(client, config, token(user_id=ALICE))
    credential = alice.authenticator.create(await alice.enrollment_options())
    broken = {**credential, "response": {**credential["response"], "attestationObject": 7}}
    assert await refusal(alice.verify_enrollment(broken)) == (400, "CREDENTIAL_MALFORMED")
    mismatched = {**credential, "id": "AAAA"}
    assert await refusal(alice.verify_enrollment(mismatched)) == (400, "CREDENTIAL_MALFORMED")
    assert await refusal(alice.request("POST", "/api/enrollment/verify", json={
        "credential": credential, "fingerprint": alice.fingerprint, "extra": 1})) == (400, "VALIDATION_FAILED")
    assert await refusal(alice.request("POST", "/api/enrollment/options", json={})) == (400, "VALIDATION_FAILED")
    assert (await alice.verify_enrollment(credential))["device"]["status"] == "enrolled"


async def test_revoking_own_device_ends_its_session_key(client, config, token, pg):
    alice = phone(client, config, token(user_id=ALICE))
    device = await alice.enroll()
    await alice.login()
    assert await stored_session_key(client, ALICE) is not None

    revoked = await alice.revoke(device["id"])
    assert revoked["status"] == "revoked" and revoked["revoked_reason"] == "revoked_by_owner"
    assert await stored_session_key(client, ALICE) is None
    trail = audit_of(pg, ALICE)
    assert [row[2] for row in trail] == ["registered", "enrolled", "login", "revoked"]
    assert trail[-1] == (device["id"], ALICE, "revoked", "enrolled", "revoked", "revoked_by_owner")
    # Again: nothing changes, nothing new in the trail.
    assert (await alice.revoke(device["id"]))["status"] == "revoked"
    assert audit_of(pg, ALICE) == trail
    assert await refusal(alice.login()) == (422, "NOT_ENROLLED")


async def test_someone_elses_device_is_not_found(client, config, token):
    alice = phone(client, config, token(user_id=ALICE))
    bob = phone(client, config, token(user_id=BOB))
    device = await alice.enroll()
    assert await refusal(bob.revoke(device["id"])) == (404, "DEVICE_NOT_FOUND")
    assert await refusal(bob.revoke(999_999)) == (404, "DEVICE_NOT_FOUND")
    assert await bob.devices() == []
    assert (await alice.devices())[0]["status"] == "enrolled"
    assert await refusal(bob.request("DELETE", "/api/enrollment/devices/abc")) == (400, "VALIDATION_FAILED")


async def test_enrollment_is_for_students_only(client, token):
    response = await client.post("/api/enrollment/options", json={"fingerprint": "x"},
                                 headers=bearer(token("profesor", user_id=5)))
    assert await error_of(response) == (403, "ROLE_FORBIDDEN")
    response = await client.get("/api/enrollment/devices")
    assert await error_of(response) == (401, "TOKEN_MISSING")
