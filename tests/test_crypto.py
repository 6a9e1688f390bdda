"""SPEC §5 building blocks against published vectors and each other."""

from __future__ import annotations

import hashlib
import os

import pytest

from asistencia import crypto

# RFC 6238 appendix B, SHA-256 column (8 digits there; TOTP keeps the last 6).
RFC6238_SHA256_KEY = b"12345678901234567890123456789012"
RFC6238_SHA256 = [(59, "46119246"), (1111111109, "68084774"), (1111111111, "67062674"),
                  (1234567890, "91819424"), (2000000000, "90698825"), (20000000000, "77737706")]


@pytest.mark.parametrize(("t", "eight_digits"), RFC6238_SHA256)
def test_totp_matches_rfc6238_sha256_vectors(t, eight_digits):
    assert crypto.totp_at(RFC6238_SHA256_KEY, t) == eight_digits[-6:]


def test_totp_accepts_one_step_either_side_only():
    key = os.urandom(32)
    now = 1_800_000_015
    for delta, ok in [(-60, False), (-30, True), (0, True), (30, True), (60, False)]:
        assert crypto.totp_matches(key, crypto.totp_at(key, now + delta), now) is ok
    assert crypto.totp_at(key, now).isdigit() and len(crypto.totp_at(key, now)) == 6


@pytest.mark.parametrize(("raw", "encoded"), [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"),
                                              (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0"),
                                              (b"", "")])
def test_base45_rfc9285_vectors(raw, encoded):
    assert crypto.base45_encode(raw) == encoded
    assert crypto.base45_decode(encoded) == raw


@pytest.mark.parametrize("bad", ["GGW", "a", "ZZZZ", "::", "abc"])
def test_base45_rejects_invalid_text(bad):
    with pytest.raises(ValueError):
        crypto.base45_decode(bad)


def test_base45_roundtrip_random():
    for n in range(0, 80):
        data = os.urandom(n)
        text = crypto.base45_encode(data)
        assert set(text) <= set(crypto.BASE45_ALPHABET)
        assert crypto.base45_decode(text) == data


def test_both_sides_derive_the_same_session_key():
    client, server = crypto.new_ecdh_key(), crypto.new_ecdh_key()
    credential_id = crypto.b64url_encode(os.urandom(32))
    k1 = crypto.derive_session_key(client, crypto.public_key_raw(server), credential_id)
    k2 = crypto.derive_session_key(server, crypto.public_key_raw(client), credential_id)
    assert k1 == k2 and len(k1) == 32
    assert crypto.derive_session_key(server, crypto.public_key_raw(client), credential_id + "x") != k1


def test_public_key_must_be_an_uncompressed_p256_point():
    raw = crypto.public_key_raw(crypto.new_ecdh_key())
    assert crypto.load_public_key_raw(raw)
    for bad in [raw[:-1], b"\x02" + raw[1:33], b"\x04" + b"\x00" * 64]:
        with pytest.raises(ValueError):
            crypto.load_public_key_raw(bad)


def test_login_challenge_binds_the_client_key():
    challenge, pub = os.urandom(32), crypto.public_key_raw(crypto.new_ecdh_key())
    assert crypto.login_challenge(challenge, pub) == hashlib.sha256(challenge + pub).digest()


def test_seal_and_open():
    key = os.urandom(32)
    blob = crypto.seal(key, b"payload")
    assert len(blob) == 12 + 7 + 16
    assert crypto.open_sealed(key, blob) == b"payload"
    with pytest.raises(crypto.DecryptError):
        crypto.open_sealed(os.urandom(32), blob)
    with pytest.raises(crypto.DecryptError):
        crypto.open_sealed(key, blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(crypto.DecryptError):
        crypto.open_sealed(key, b"short")


def test_b64url_strict():
    assert crypto.b64url_decode(crypto.b64url_encode(b"\xff\xfe")) == b"\xff\xfe"
    for bad in ["a+b/", "abc=", "a", 5]:
        with pytest.raises(ValueError):
            crypto.b64url_decode(bad)
