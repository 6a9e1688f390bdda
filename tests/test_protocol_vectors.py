"""docs/protocol.md §7 and §8.6: the server's crypto reproduces every published test vector."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from asistencia import crypto
from asistencia.config import PROJECT_ROOT
from asistencia.domain import proof as proofs
from asistencia.domain import qr_payload as qr
from asistencia.domain import shared_frame
from tests.protocol_vectors import protocol_vectors, shared_frame_vectors

V = protocol_vectors()
PLACE = {"session_id": V["session_id"], "student_id": V["student_id"]}


def _private(name: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(V[name], 16), ec.SECP256R1())


def test_the_document_names_its_version():
    assert crypto.PROTOCOL_VERSION == 2 == qr.VERSION
    assert "# The attendance protocol — version 2" in (PROJECT_ROOT / "docs" / "protocol.md").read_text()


def test_key_agreement_and_derivation():
    client, server = _private("client_private_key"), _private("server_private_key")
    assert crypto.public_key_raw(client).hex() == V["client_public_key"]
    assert crypto.public_key_raw(server).hex() == V["server_public_key"]
    shared = client.exchange(ec.ECDH(), server.public_key())
    assert shared.hex() == V["ecdh_shared_secret"]
    assert crypto.session_key_from_shared(shared, V["credential_id"]).hex() == V["session_key"]
    for own, peer in [(client, server), (server, client)]:
        derived = crypto.derive_session_key(own, crypto.public_key_raw(peer), V["credential_id"])
        assert derived.hex() == V["session_key"]


def test_code():
    key = bytes.fromhex(V["session_key"])
    associated = qr.code_associated_data(V["session_id"], V["student_id"], V["round"])
    assert associated.hex() == V["code_associated_data"]
    payload = qr.open_qr(key, V["code_text"], **PLACE, round_=V["round"])
    assert qr.pack(payload).hex() == V["code_payload"]
    assert (payload.issued_at, payload.nonce.hex()) == (1795000000, "0001020304050607")
    iv = bytes.fromhex(V["code_iv"])
    assert crypto.base45_encode(iv + AESGCM(key).encrypt(iv, qr.pack(payload), associated)) == V["code_text"]


def test_proof():
    key = bytes.fromhex(V["session_key"])
    associated = proofs.proof_associated_data(V["session_id"], V["student_id"], V["round"])
    assert associated.hex() == V["proof_associated_data"]
    sealed = crypto.b64url_decode(V["proof"])
    assert crypto.open_sealed(key, sealed, associated).decode() == V["proof_plaintext"]
    opened = proofs.open_proof(key, sealed, **PLACE, round_=V["round"])
    body = json.loads(V["proof_plaintext"])
    assert (opened.nonce, opened.round, opened.client_time) == (crypto.b64url_decode(body["nonce"]), V["round"],
                                                                body["client_time"])
    iv = bytes.fromhex(V["proof_iv"])
    assert crypto.b64url_encode(iv + AESGCM(key).encrypt(iv, V["proof_plaintext"].encode(), associated)) == V["proof"]


def test_the_code_is_no_proof_and_the_proof_no_code():
    key = bytes.fromhex(V["session_key"])
    with pytest.raises(crypto.DecryptError):
        proofs.open_proof(key, crypto.base45_decode(V["code_text"]), **PLACE, round_=V["round"])
    with pytest.raises(crypto.DecryptError):
        crypto.open_sealed(key, crypto.b64url_decode(V["proof"]), bytes.fromhex(V["code_associated_data"]))


def test_shared_frame_vectors():
    sv = shared_frame_vectors()
    key, projection_key = bytes.fromhex(sv["session_key"]), bytes.fromhex(sv["projection_key"])
    place = {"session_id": sv["session_id"], "student_id": sv["student_id"]}
    assert sv["session_key"] == V["session_key"]
    associated = shared_frame.key_associated_data(**place)
    assert associated.hex() == sv["projection_key_associated_data"]
    assert shared_frame.unwrap_for_student(key, sv["wrapped_projection_key"], **place) == projection_key
    iv = bytes.fromhex(sv["projection_key_iv"])
    assert crypto.b64url_encode(iv + AESGCM(key).encrypt(iv, projection_key, associated)) == \
        sv["wrapped_projection_key"]
    frame_associated = shared_frame.frame_associated_data(sv["session_id"])
    assert frame_associated.hex() == sv["frame_associated_data"]
    payload = shared_frame.open_frame(projection_key, sv["frame_text"], session_id=sv["session_id"])
    assert qr.pack(payload).hex() == sv["frame_payload"]
    assert (payload.issued_at, payload.nonce.hex()) == (1795000001, "08090a0b0c0d0e0f")
    iv = bytes.fromhex(sv["frame_iv"])
    assert crypto.base45_encode(iv + AESGCM(projection_key).encrypt(iv, qr.pack(payload), frame_associated)) == \
        sv["frame_text"]
    # A frame is no student's code, and a wrapped key opens for its own student only.
    with pytest.raises(crypto.DecryptError):
        qr.open_qr(projection_key, sv["frame_text"], **place, round_=0)
    with pytest.raises(crypto.DecryptError):
        shared_frame.unwrap_for_student(key, sv["wrapped_projection_key"], session_id=sv["session_id"],
                                        student_id=sv["student_id"] + 1)
