"""SPEC §5 building blocks against published vectors and each other."""

from __future__ import annotations

import hashlib
import os

import pytest

from asistencia import crypto

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
    associated = crypto.associated_data(crypto.CODE, 7, 8, 1)
    blob = crypto.seal(key, b"payload", associated)
    assert len(blob) == 12 + 7 + 16
    assert crypto.open_sealed(key, blob, associated) == b"payload"
    with pytest.raises(crypto.DecryptError):
        crypto.open_sealed(os.urandom(32), blob, associated)
    with pytest.raises(crypto.DecryptError):
        crypto.open_sealed(key, blob[:-1] + bytes([blob[-1] ^ 1]), associated)
    with pytest.raises(crypto.DecryptError):
        crypto.open_sealed(key, b"short", associated)
    for other in [crypto.associated_data(crypto.PROOF, 7, 8, 1), crypto.associated_data(crypto.CODE, 7, 8, 2), b""]:
        with pytest.raises(crypto.DecryptError):
            crypto.open_sealed(key, blob, other)


def test_associated_data_layout():
    assert crypto.associated_data(crypto.PROOF, 0x01020304, 0xFFFFFFFF, 10).hex() == "02020102030" + "4ffffffff0a"
    for bad in [(crypto.CODE, 2**32, 1, 1), (crypto.CODE, 1, -1, 1), (crypto.CODE, 1, 1, 256)]:
        with pytest.raises(ValueError):
            crypto.associated_data(*bad)


def test_key_ring_wraps_with_the_current_kek_and_unwraps_with_any_configured_one():
    old, new = os.urandom(32), os.urandom(32)
    key = os.urandom(32)
    kid, wrapped = crypto.KeyRing(old).wrap(key, b"student 5")
    assert key not in wrapped and kid == crypto.kek_id(old) != crypto.kek_id(new)
    rotated = crypto.KeyRing(new, previous=(old,))
    assert rotated.unwrap(kid, wrapped, b"student 5") == key
    assert rotated.wrap(key, b"student 5")[0] == crypto.kek_id(new)
    with pytest.raises(crypto.DecryptError):
        rotated.unwrap(kid, wrapped, b"student 6")  # moved to another student's entry
    with pytest.raises(crypto.DecryptError):
        crypto.KeyRing(new).unwrap(kid, wrapped, b"student 5")  # the old KEK was retired


def test_b64url_strict():
    assert crypto.b64url_decode(crypto.b64url_encode(b"\xff\xfe")) == b"\xff\xfe"
    for bad in ["a+b/", "abc=", "a", 5]:
        with pytest.raises(ValueError):
            crypto.b64url_decode(bad)
