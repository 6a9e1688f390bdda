"""QR payloads, decoys and proofs (SPEC §5): sizes, encodings, and who can open what."""

from __future__ import annotations

import os

import pytest

from asistencia.crypto import (BASE45_ALPHABET, CODE, PROOF, DecryptError, associated_data, b64url_decode,
                               base45_decode, base45_encode, seal)
from asistencia.domain import proof as proofs
from asistencia.domain import qr_payload as qr

# QR version 4 at error correction M holds 114 alphanumeric characters.
QR_V4_M_ALPHANUMERIC = 114


def _payload(**changes) -> qr.QrPayload:
    fields = {"session_id": 42, "student_id": 0xFFFFFFFF, "round": 3, "issued_at": 1_795_000_000,
              "nonce": bytes(range(8))}
    return qr.QrPayload(**{**fields, **changes})


PLACE = {"session_id": 42, "student_id": 0xFFFFFFFF, "round_": 3}


def test_plaintext_layout_is_22_bytes_big_endian():
    packed = qr.pack(_payload())
    assert len(packed) == 22
    assert packed.hex() == "02" + "0000002a" + "ffffffff" + "03" + (1_795_000_000).to_bytes(4, "big").hex() \
        + "0001020304050607"
    assert qr.unpack(packed) == _payload()


@pytest.mark.parametrize("change", [{"session_id": 2**32}, {"student_id": -1}, {"round": 256},
                                    {"issued_at": 2**32}, {"nonce": b"short"}])
def test_fields_that_do_not_fit_are_refused(change):
    with pytest.raises(ValueError):
        qr.pack(_payload(**change))


def test_unknown_version_or_length_is_refused():
    packed = bytearray(qr.pack(_payload()))
    packed[0] = 1  # protocol v1's codes are not read any more
    with pytest.raises(ValueError, match="version"):
        qr.unpack(bytes(packed))
    with pytest.raises(ValueError, match="length"):
        qr.unpack(bytes(packed[:-1]))


def test_sealed_text_is_75_qr_alphanumeric_characters_and_opens_only_with_its_key():
    key = os.urandom(32)
    text = qr.seal_qr(key, _payload())
    assert len(text) == qr.TEXT_LENGTH == 75 <= QR_V4_M_ALPHANUMERIC
    assert set(text) <= set(BASE45_ALPHABET)
    assert qr.open_qr(key, text, **PLACE) == _payload()
    with pytest.raises(DecryptError):
        qr.open_qr(os.urandom(32), text, **PLACE)


@pytest.mark.parametrize("elsewhere", [{"session_id": 43}, {"student_id": 7}, {"round_": 2}, {"round_": 4}])
def test_a_code_opens_only_for_its_session_student_and_round(elsewhere):
    key = os.urandom(32)
    with pytest.raises(DecryptError):
        qr.open_qr(key, qr.seal_qr(key, _payload()), **{**PLACE, **elsewhere})


def test_a_code_never_opens_as_a_proof_nor_a_proof_as_a_code():
    """The associated data names the kind: a projected code replayed as a proof is just not a proof."""
    key = os.urandom(32)
    code = base45_decode(qr.seal_qr(key, _payload()))
    with pytest.raises(DecryptError):
        proofs.open_proof(key, code, session_id=42, student_id=0xFFFFFFFF, round_=3)
    proof = proofs.seal_proof(key, proofs.Proof(nonce=bytes(range(8)), round=3, client_time=1),
                              session_id=42, student_id=0xFFFFFFFF)
    with pytest.raises(DecryptError):
        qr.open_qr(key, base45_encode(b64url_decode(proof)[:50]), **PLACE)


def test_tampered_or_foreign_texts_do_not_open():
    key = os.urandom(32)
    text = qr.seal_qr(key, _payload())
    sealed = bytearray(base45_decode(text))
    sealed[20] ^= 1
    for bad in (base45_encode(bytes(sealed)), text[:-3], "not base45 at all!", text.lower()):
        with pytest.raises(DecryptError):
            qr.open_qr(key, bad, **PLACE)


def test_a_sealed_non_payload_opens_but_is_not_a_payload():
    key = os.urandom(32)
    with pytest.raises(ValueError) as raised:
        qr.open_qr(key, base45_encode(seal(key, b"x" * 22, associated_data(CODE, 42, 0xFFFFFFFF, 3))), **PLACE)
    assert not isinstance(raised.value, DecryptError)


def test_a_payload_that_disagrees_with_its_associated_data_is_not_a_payload():
    key = os.urandom(32)
    packed = qr.pack(_payload(round=4))
    with pytest.raises(ValueError) as raised:
        qr.open_qr(key, base45_encode(seal(key, packed, associated_data(CODE, 42, 0xFFFFFFFF, 3))), **PLACE)
    assert not isinstance(raised.value, DecryptError)


def test_decoys_look_like_real_codes():
    key = os.urandom(32)
    entry_id, texts = qr.decoy(3)
    real = qr.round_qr(key, 7, 8, 1, 1_795_000_000, texts=3)
    assert len(texts) == len(real.texts) == 3 and len(set(texts)) == 3
    for text in texts:
        assert len(text) == len(real.texts[0]) and set(text) <= set(BASE45_ALPHABET)
        for round_ in range(1, 11):
            with pytest.raises(DecryptError):
                qr.open_qr(key, text, session_id=7, student_id=8, round_=round_)
    assert len(entry_id) == len(real.entry_id) == 16
    assert len({qr.decoy()[1] for _ in range(50)}) == 50


def test_round_qr_is_named_by_its_nonce_and_carries_its_key_id():
    key = os.urandom(32)
    made = qr.round_qr(key, 7, 8, 2, 1_795_000_000.9)
    payload = qr.open_qr(key, made.texts[0], session_id=7, student_id=8, round_=2)
    assert (payload.session_id, payload.student_id, payload.round, payload.issued_at) == (7, 8, 2, 1_795_000_000)
    assert made.entry_id == payload.nonce.hex() and (made.owner, made.round) == (8, 2)
    assert made.key_id == qr.key_id(key) != qr.key_id(os.urandom(32))


def test_every_text_of_a_round_qr_is_the_same_payload_sealed_afresh():
    key = os.urandom(32)
    made = qr.round_qr(key, 7, 8, 2, 1_795_000_000, texts=4)
    assert len(set(made.texts)) == 4
    place = {"session_id": 7, "student_id": 8, "round_": 2}
    assert {qr.open_qr(key, text, **place) for text in made.texts} == {qr.open_qr(key, made.texts[0], **place)}


def test_proof_round_trip_and_refusals():
    key = os.urandom(32)
    proof = proofs.Proof(nonce=os.urandom(8), round=2, client_time=1_795_000_000_123)
    sealed = b64url_decode(proofs.seal_proof(key, proof, session_id=7, student_id=8))
    assert proofs.open_proof(key, sealed, session_id=7, student_id=8, round_=2) == proof
    with pytest.raises(DecryptError):
        proofs.open_proof(os.urandom(32), sealed, session_id=7, student_id=8, round_=2)
    for elsewhere in [(6, 8, 2), (7, 9, 2), (7, 8, 1), (7, 8, 3)]:
        with pytest.raises(DecryptError):
            proofs.open_proof(key, sealed, **dict(zip(("session_id", "student_id", "round_"), elsewhere)))


@pytest.mark.parametrize("plaintext", [
    b"not json", b"[1, 2]", b'{"nonce": "AAAAAAAAAAA"}',
    b'{"nonce": "AAAA", "client_time": 1}',
    b'{"nonce": "AAAAAAAAAAA", "client_time": "1"}',
    b'{"nonce": "AAAAAAAAAAA", "client_time": 1, "totp": "123456"}',  # protocol v1's field
    b'{"nonce": "AAAAAAAAAAA", "client_time": 1, "extra": 1}',
])
def test_malformed_proofs(plaintext):
    key = os.urandom(32)
    with pytest.raises(proofs.ProofMalformed):
        proofs.open_proof(key, seal(key, plaintext, associated_data(PROOF, 7, 8, 1)), session_id=7, student_id=8,
                          round_=1)
