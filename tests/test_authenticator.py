"""The software authenticator against py_webauthn itself, and how `asistencia.passkeys` names failures.

No server here: these are the unit tests under the HTTP tests of enrollment and login.
"""

from __future__ import annotations

import dataclasses
import json
import os

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from webauthn import verify_authentication_response, verify_registration_response

from asistencia import passkeys
from asistencia.client import Authenticator
from asistencia.config import Config
from asistencia.crypto import b64url_decode, b64url_encode
from asistencia.errors import ApiError
from asistencia.tokens import User

CONFIG = Config()
STUDENT = User(id=101, username="11111111-1", role="alumno")


def new_authenticator() -> Authenticator:
    return Authenticator(rp_id=CONFIG.webauthn_rp_id, origin=CONFIG.webauthn_origin)


def creation(challenge: bytes) -> dict:
    return passkeys.creation_options(CONFIG, STUDENT, challenge, [])


def enrolled(authenticator: Authenticator) -> passkeys.Registration:
    challenge = os.urandom(32)
    credential = passkeys.parse_registration(authenticator.create(creation(challenge)))
    return passkeys.verify_registration(CONFIG, credential, challenge)


def refusal_code(call, *args) -> str:
    with pytest.raises(ApiError) as refused:
        call(*args)
    return refused.value.code


def with_client_data(credential: dict, **changes) -> dict:
    client_data = json.loads(b64url_decode(credential["response"]["clientDataJSON"]))
    client_data.update(changes)
    encoded = b64url_encode(json.dumps(client_data).encode())
    return {**credential, "response": {**credential["response"], "clientDataJSON": encoded}}


def test_py_webauthn_accepts_what_the_authenticator_makes():
    phone = new_authenticator()
    challenge = os.urandom(32)
    registered = verify_registration_response(
        credential=phone.create(creation(challenge)), expected_challenge=challenge,
        expected_rp_id=CONFIG.webauthn_rp_id, expected_origin=CONFIG.webauthn_origin,
        require_user_verification=True)
    assert registered.credential_id == phone.credential_id and registered.fmt == "none"
    assert registered.aaguid == "00000000-0000-0000-0000-000000000000" and registered.user_verified

    challenge = os.urandom(32)
    options = passkeys.request_options(CONFIG, challenge, [(phone.credential_id, phone.transports)])
    verified = verify_authentication_response(
        credential=phone.get(options, sign_count=41), expected_challenge=challenge,
        expected_rp_id=CONFIG.webauthn_rp_id, expected_origin=CONFIG.webauthn_origin,
        credential_public_key=registered.credential_public_key, credential_current_sign_count=40,
        require_user_verification=True)
    assert verified.new_sign_count == 41 and verified.user_verified


def test_the_counter_counts_and_copies_share_it():
    phone = new_authenticator()
    options = {"challenge": b64url_encode(os.urandom(32))}
    phone.get(options)
    phone.get(options)
    copy = dataclasses.replace(phone)
    assert (phone.sign_count, copy.sign_count, copy.key) == (2, 2, phone.key)
    phone.get(options)
    assert (phone.sign_count, copy.sign_count) == (3, 2)


def test_an_honest_assertion_verifies_and_reports_its_counter():
    phone = new_authenticator()
    registration = enrolled(phone)
    challenge = os.urandom(32)
    credential = passkeys.parse_assertion(phone.get(passkeys.request_options(CONFIG, challenge, [])))
    assert passkeys.verify_assertion(CONFIG, credential, challenge, registration.public_key) == 1


@pytest.mark.parametrize(("quirk", "code"), [
    ({"tamper_signature": True}, "SIGNATURE_INVALID"),
    ({"origin": "https://evil.example"}, "ORIGIN_MISMATCH"),
    ({"rp_id": "evil.example"}, "RP_ID_MISMATCH"),
    ({"user_verified": False}, "USER_VERIFICATION_MISSING"),
])
def test_each_bent_assertion_gets_its_own_code(quirk, code):
    phone = new_authenticator()
    registration = enrolled(phone)
    challenge = os.urandom(32)
    credential = passkeys.parse_assertion(phone.get(passkeys.request_options(CONFIG, challenge, []), **quirk))
    assert refusal_code(passkeys.verify_assertion, CONFIG, credential, challenge, registration.public_key) == code


def test_a_registration_answer_in_an_assertion_is_a_ceremony_mismatch():
    phone = new_authenticator()
    registration = enrolled(phone)
    challenge = os.urandom(32)
    assertion = with_client_data(phone.get(passkeys.request_options(CONFIG, challenge, [])), type="webauthn.create")
    credential = passkeys.parse_assertion(assertion)
    assert refusal_code(passkeys.verify_assertion, CONFIG, credential, challenge,
                        registration.public_key) == "CEREMONY_MISMATCH"


def test_broken_client_data_is_malformed():
    phone = new_authenticator()
    challenge = os.urandom(32)
    created = phone.create(creation(challenge))
    broken = {**created, "response": {**created["response"], "clientDataJSON": b64url_encode(b"{")}}
    credential = passkeys.parse_registration(broken)
    assert refusal_code(passkeys.verify_registration, CONFIG, credential, challenge) == "CREDENTIAL_MALFORMED"


def test_a_passkey_with_another_algorithm_is_refused_by_name():
    phone = new_authenticator()
    challenge = os.urandom(32)
    created = phone.create(creation(challenge))
    # Swap the attested ES256 key for an Ed25519 one (alg -8, which we do not accept).
    attestation = cbor2.loads(b64url_decode(created["response"]["attestationObject"]))
    head = 37 + 16 + 2 + len(phone.credential_id)
    x = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    attestation["authData"] = attestation["authData"][:head] + cbor2.dumps({1: 1, 3: -8, -1: 6, -2: x})
    swapped = {**created, "response": {**created["response"],
                                       "attestationObject": b64url_encode(cbor2.dumps(attestation))}}
    credential = passkeys.parse_registration(swapped)
    assert refusal_code(passkeys.verify_registration, CONFIG, credential, challenge) == "ALGORITHM_UNSUPPORTED"


def test_the_authenticator_declines_options_without_es256():
    options = {**creation(os.urandom(32)), "pubKeyCredParams": [{"type": "public-key", "alg": -257}]}
    with pytest.raises(ValueError, match="ES256"):
        new_authenticator().create(options)


@pytest.mark.parametrize(("stored", "reported", "regressed"), [
    (0, 0, False),   # authenticators that do not count
    (0, 1, False),
    (5, 6, False),
    (5, 5, True),
    (5, 4, True),
    (5, 0, True),    # a counting passkey cannot start reporting 0
])
def test_sign_count_regression_rule(stored, reported, regressed):
    assert passkeys.sign_count_regressed(stored, reported) is regressed
