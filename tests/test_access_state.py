"""Where a student stands (SPEC §3.2 step 4): the rule on its own, then through the HTTP API."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from asistencia import access
from asistencia.client import Authenticator, RequestRefused
from asistencia.store.devices import CLONE_SUSPECTED, REPLACED, Device
from asistencia.store.session_keys import SessionKey
from tests.helpers import bearer, error_of
from tests.phones import phone

ALICE = 101
NOW = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=datetime.timezone.utc)
ENROLLED = Device(id=7, user_id=ALICE, credential_id=b"c" * 32, public_key=b"k", sign_count=3, aaguid=None,
                  transports=("internal",), fingerprint="phone-a", status="enrolled", created_at=NOW,
                  enrolled_at=NOW, revoked_at=None, revoked_reason=None, last_login_at=None)
SESSION = SessionKey(user_id=ALICE, device_id=7, credential_id="Y2Nj", key=b"k" * 32, expires_at=2e9)


def revoked(reason: str) -> Device:
    return dataclasses.replace(ENROLLED, status="revoked", revoked_at=NOW, revoked_reason=reason)


def test_standing_rules():
    assert access.standing(None, None, "phone-a") == access.Standing("NOT_ENROLLED", "ENROLL")
    assert access.standing(revoked(REPLACED), None, None) == access.Standing("NOT_ENROLLED", "ENROLL")
    assert access.standing(ENROLLED, None, "phone-a") == access.Standing("ENROLLED_NO_SESSION", "LOGIN",
                                                                        device=ENROLLED)
    assert access.standing(ENROLLED, SESSION, "phone-a") == access.Standing("READY", "SCAN", device=ENROLLED,
                                                                           session=SESSION)
    # A phone that does not say which it is gets the answer for the enrolled one.
    assert access.standing(ENROLLED, SESSION, None).state == "READY"


def test_blocked_means_logging_in_here_would_not_help():
    other_phone = access.standing(ENROLLED, SESSION, "phone-b")
    assert (other_phone.state, other_phone.next_action, other_phone.reason) == (
        "BLOCKED", "USE_ENROLLED_DEVICE", "OTHER_DEVICE")
    cloned = access.standing(revoked(CLONE_SUSPECTED), None, "phone-a")
    assert (cloned.state, cloned.next_action, cloned.reason) == ("BLOCKED", "ENROLL", "CLONE_SUSPECTED")


def test_a_key_left_from_an_older_device_does_not_make_ready():
    stale = dataclasses.replace(SESSION, device_id=6)
    assert access.standing(ENROLLED, stale, "phone-a").state == "ENROLLED_NO_SESSION"


async def test_enroll_then_login_makes_the_student_ready(client, config, token):
    alice = phone(client, config, token(user_id=ALICE), fingerprint="phone-a")
    state = await alice.access_state()
    assert state == {"state": "NOT_ENROLLED", "next_action": "ENROLL", "reason": None, "device": None,
                     "session_expires_at": None}

    device = await alice.enroll()
    state = await alice.access_state()
    assert (state["state"], state["next_action"], state["device"]["id"]) == ("ENROLLED_NO_SESSION", "LOGIN",
                                                                           device["id"])
    assert state["session_expires_at"] is None

    session = await alice.login()
    state = await alice.access_state()
    assert (state["state"], state["next_action"], state["reason"]) == ("READY", "SCAN", None)
    assert state["session_expires_at"] == session.expires_at
    assert state["device"]["last_login_at"] is not None and state["device"]["sign_count"] == 1


async def test_another_phone_of_the_student_is_blocked_until_it_enrolls(client, config, token):
    alice_token = token(user_id=ALICE)
    enrolled = phone(client, config, alice_token, fingerprint="phone-a")
    await enrolled.enroll()
    await enrolled.login()
    other = phone(client, config, alice_token, fingerprint="phone-b")
    state = await other.access_state()
    assert (state["state"], state["next_action"], state["reason"]) == ("BLOCKED", "USE_ENROLLED_DEVICE",
                                                                     "OTHER_DEVICE")
    assert state["device"]["fingerprint"] == "phone-a" and state["session_expires_at"] is None

    await other.enroll()
    assert (await other.access_state())["state"] == "ENROLLED_NO_SESSION"
    assert (await enrolled.access_state())["reason"] == "OTHER_DEVICE"


async def test_a_cloned_passkey_blocks_until_the_phone_enrolls_again(client, config, token):
    alice = phone(client, config, token(user_id=ALICE), fingerprint="phone-a")
    await alice.enroll()
    await alice.login()
    with pytest.raises(RequestRefused, match="SIGN_COUNT_REGRESSION"):
        await alice.login(sign_count=1)
    state = await alice.access_state()
    assert (state["state"], state["next_action"], state["reason"]) == ("BLOCKED", "ENROLL", "CLONE_SUSPECTED")
    assert state["device"]["status"] == "revoked"

    # Enrolling again makes a fresh passkey on the phone.
    alice.authenticator = Authenticator(rp_id=config.webauthn_rp_id, origin=config.webauthn_origin)
    await alice.enroll()
    await alice.login()
    assert (await alice.access_state())["state"] == "READY"


async def test_revoking_the_device_returns_to_not_enrolled(client, config, token):
    alice = phone(client, config, token(user_id=ALICE))
    device = await alice.enroll()
    await alice.login()
    await alice.revoke(device["id"])
    state = await alice.access_state()
    assert (state["state"], state["device"], state["session_expires_at"]) == ("NOT_ENROLLED", None, None)


async def test_access_state_validates_and_guards(client, token):
    student = bearer(token(user_id=ALICE))
    response = await client.get("/api/access/state", params={"fingerprint": "x", "other": "y"}, headers=student)
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    response = await client.get("/api/access/state", params={"fingerprint": ""}, headers=student)
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    response = await client.get("/api/access/state", headers=bearer(token("profesor", user_id=5)))
    assert await error_of(response) == (403, "ROLE_FORBIDDEN")
