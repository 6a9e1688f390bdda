"""Device login (SPEC §3.2) through the HTTP API: the assertion, the refusals, the derived session key."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from asistencia import crypto
from tests.helpers import bearer, error_of
from tests.phones import phone, refusal, stored_session_key

ALICE, BOB = 101, 202


def audit_actions(pg, user_id: int) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute("SELECT action, reason FROM device_audit WHERE user_id = %s ORDER BY id", (user_id,))
        return cur.fetchall()


@pytest.fixture
async def alice(client, config, token):
    device = phone(client, config, token(user_id=ALICE))
    await device.enroll()
    return device


async def test_both_sides_derive_the_same_session_key(client, config, alice, pg):
    # The client side, step by step with asistencia.crypto, independent of the reference client.
    client_key = crypto.new_ecdh_key()
    client_public = crypto.public_key_raw(client_key)
    options = await alice.login_options()
    assert options["rpId"] == config.webauthn_rp_id and options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [alice.authenticator.credential_id_text]
    bound = crypto.login_challenge(crypto.b64url_decode(options["challenge"]), client_public)
    credential = alice.authenticator.get({**options, "challenge": crypto.b64url_encode(bound)})
    before = time.time()
    reply = await alice.verify_login(credential, client_public)

    assert set(reply) == {"server_public_key", "expires_at"}
    ours = crypto.derive_session_key(client_key, crypto.b64url_decode(reply["server_public_key"]),
                                     alice.authenticator.credential_id_text)
    stored = await stored_session_key(client, ALICE)
    assert stored.key == ours and len(ours) == 32
    assert stored.credential_id == alice.authenticator.credential_id_text
    assert stored.expires_at == reply["expires_at"]
    assert before + config.session_key_ttl_seconds - 1 <= reply["expires_at"] <= time.time() + config.session_key_ttl_seconds
    with pg.cursor() as cur:
        cur.execute("SELECT id, sign_count, last_login_at IS NOT NULL FROM devices")
        device_id, sign_count, logged_in = cur.fetchone()
    assert (stored.device_id, sign_count, logged_in) == (device_id, 1, True)
    assert audit_actions(pg, ALICE)[-1] == ("login", "")


async def test_the_reference_client_derives_the_servers_key(client, alice):
    session = await alice.login()
    assert session.key == (await stored_session_key(client, ALICE)).key


async def test_a_new_login_replaces_the_old_key(client, alice):
    first = await alice.login()
    second = await alice.login()
    assert first.key != second.key
    assert (await stored_session_key(client, ALICE)).key == second.key


async def test_replaying_a_login_is_refused(client, alice):
    own_key = crypto.public_key_raw(crypto.new_ecdh_key())
    credential = alice.assert_for(await alice.login_options(), own_key)
    await alice.verify_login(credential, own_key)
    assert await refusal(alice.verify_login(credential, own_key)) == (409, "CHALLENGE_USED")


async def test_racing_replays_get_one_login(client, alice):
    own_key = crypto.public_key_raw(crypto.new_ecdh_key())
    credential = alice.assert_for(await alice.login_options(), own_key)
    outcomes = await asyncio.gather(*(alice.verify_login(credential, own_key) for _ in range(5)),
                                    return_exceptions=True)
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert sorted(o.code for o in outcomes if not isinstance(o, dict)) == ["CHALLENGE_USED"] * 4


async def test_a_login_without_options_finds_no_challenge(alice):
    own_key = crypto.public_key_raw(crypto.new_ecdh_key())
    credential = alice.assert_for({"challenge": "AAAA"}, own_key)
    assert await refusal(alice.verify_login(credential, own_key)) == (410, "CHALLENGE_EXPIRED")


@pytest.mark.parametrize(("quirk", "code"), [
    ({"tamper_signature": True}, "SIGNATURE_INVALID"),
    ({"origin": "https://evil.example"}, "ORIGIN_MISMATCH"),
    ({"rp_id": "evil.example"}, "RP_ID_MISMATCH"),
    ({"user_verified": False}, "USER_VERIFICATION_MISSING"),
])
async def test_bad_assertions_are_refused_each_with_its_code(client, alice, pg, quirk, code):
    assert await refusal(alice.login(**quirk)) == (422, code)
    assert await stored_session_key(client, ALICE) is None
    assert audit_actions(pg, ALICE)[-1] == ("login_refused", code)
    # The device is still fine: an honest login right after works.
    await alice.login()


async def test_a_counter_going_backwards_revokes_the_cloned_passkey(client, config, token, alice, pg):
    copy = phone(client, config, alice.token, authenticator=dataclasses.replace(alice.authenticator),
                 fingerprint=alice.fingerprint)
    await alice.login()
    await alice.login()
    assert await stored_session_key(client, ALICE) is not None
    # The copy still counts from where it was taken.
    assert await refusal(copy.login()) == (422, "SIGN_COUNT_REGRESSION")

    assert await stored_session_key(client, ALICE) is None
    assert audit_actions(pg, ALICE)[-2:] == [("clone_suspected", "sign count did not increase"),
                                             ("revoked", "clone_suspected")]
    with pg.cursor() as cur:
        cur.execute("SELECT status, sign_count FROM devices")
        assert cur.fetchone() == ("revoked", 2)
    # Neither copy logs in any more; the student must enroll again.
    assert await refusal(alice.login()) == (422, "NOT_ENROLLED")


async def test_a_repeated_counter_is_a_regression_too(alice):
    await alice.login()
    assert await refusal(alice.login(sign_count=1)) == (422, "SIGN_COUNT_REGRESSION")


async def test_counterless_passkeys_log_in_again_and_again(client, alice):
    await alice.login(sign_count=0)
    await alice.login(sign_count=0)
    assert await stored_session_key(client, ALICE) is not None


async def test_another_students_credential_is_not_found(client, config, token, alice):
    bob = phone(client, config, token(user_id=BOB))
    await bob.enroll()
    thief = phone(client, config, bob.token, authenticator=alice.authenticator)
    assert await refusal(thief.login()) == (404, "DEVICE_NOT_FOUND")
    assert await stored_session_key(client, BOB) is None


async def test_an_assertion_over_another_ecdh_key_is_refused(client, alice):
    signed_for = crypto.public_key_raw(crypto.new_ecdh_key())
    substituted = crypto.public_key_raw(crypto.new_ecdh_key())
    credential = alice.assert_for(await alice.login_options(), signed_for)
    assert await refusal(alice.verify_login(credential, substituted)) == (422, "CLIENT_KEY_MISMATCH")
    assert await stored_session_key(client, ALICE) is None


@pytest.mark.parametrize("client_public_key", ["not base64url!", "AAAA", crypto.b64url_encode(b"\x04" + bytes(64))])
async def test_a_bad_client_public_key_is_refused(alice, client_public_key):
    credential = alice.assert_for(await alice.login_options(), crypto.public_key_raw(crypto.new_ecdh_key()))
    assert await refusal(alice.request("POST", "/api/login/verify", json={
        "credential": credential, "client_public_key": client_public_key})) == (400, "CLIENT_KEY_INVALID")


async def test_malformed_login_bodies_are_refused(alice):
    assert await refusal(alice.request("POST", "/api/login/verify", json={
        "credential": {"id": "x"}, "client_public_key": crypto.b64url_encode(
            crypto.public_key_raw(crypto.new_ecdh_key()))})) == (400, "CREDENTIAL_MALFORMED")
    assert await refusal(alice.request("POST", "/api/login/options", json={"x": 1})) == (400, "VALIDATION_FAILED")


async def test_login_needs_an_enrolled_phone(client, config, token):
    stranger = phone(client, config, token(user_id=BOB))
    assert await refusal(stranger.login()) == (422, "NOT_ENROLLED")


async def test_the_session_key_expires(make_client, config, token):
    client = await make_client(config.replace(session_key_ttl_seconds=1))
    alice = phone(client, config, token(user_id=ALICE))
    await alice.enroll()
    session = await alice.login()
    assert session.expires_at <= time.time() + 1
    assert await stored_session_key(client, ALICE) is not None
    deadline = time.monotonic() + 10
    while await stored_session_key(client, ALICE) is not None:
        assert time.monotonic() < deadline, "the session key outlived its TTL by far"
        await asyncio.sleep(0.2)
    assert (await alice.access_state())["state"] == "ENROLLED_NO_SESSION"


async def test_logging_out_ends_the_session_key(client, alice):
    await alice.login()
    await alice.logout()
    assert await stored_session_key(client, ALICE) is None
    assert (await alice.access_state())["state"] == "ENROLLED_NO_SESSION"


async def test_login_is_for_students_only(client, token):
    response = await client.post("/api/login/options", json={}, headers=bearer(token("profesor", user_id=5)))
    assert await error_of(response) == (403, "ROLE_FORBIDDEN")
    assert await error_of(await client.delete("/api/login")) == (401, "TOKEN_MISSING")
