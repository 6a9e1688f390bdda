"""The proof a scanner sends with a QR text: it saw this code, with this device, now.

proof = base64url(AES-256-GCM(session_key, JSON, associated data =
                  v2 | proof | session | student | round)) with the JSON
    {"nonce": <base64url of the QR's 8-byte nonce>, "client_time": <unix ms>}
Only the device holding the session key can make one, and it opens only for
the session, student and round it answers. `client_time` is the phone's
clock, reported for diagnostics and never trusted (protocol v2 has no TOTP:
one derived from the session key added nothing and failed phones with a
wrong clock).
"""

from __future__ import annotations

import dataclasses
import json

import marshmallow
from marshmallow import fields, validate

from asistencia.crypto import PROOF, associated_data, b64url_decode, b64url_encode, open_sealed, seal
from asistencia.domain.qr_payload import NONCE_BYTES


class ProofMalformed(ValueError):
    """The proof opened under the student's key but is not shaped like a proof."""


@dataclasses.dataclass(frozen=True)
class Proof:
    nonce: bytes
    round: int
    client_time: int


class _Nonce(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            nonce = b64url_decode(value)
        except ValueError:
            raise marshmallow.ValidationError("Not base64url.") from None
        if len(nonce) != NONCE_BYTES:
            raise marshmallow.ValidationError(f"Must be {NONCE_BYTES} bytes.")
        return nonce


class _ProofSchema(marshmallow.Schema):
    nonce = _Nonce(required=True)
    client_time = fields.Integer(required=True, strict=True, validate=validate.Range(0, 2**53))


_SCHEMA = _ProofSchema()


def proof_associated_data(session_id: int, student_id: int, round_: int) -> bytes:
    return associated_data(PROOF, session_id, student_id, round_)


def seal_proof(session_key: bytes, proof: Proof, *, session_id: int, student_id: int) -> str:
    body = {"nonce": b64url_encode(proof.nonce), "client_time": proof.client_time}
    associated = proof_associated_data(session_id, student_id, proof.round)
    return b64url_encode(seal(session_key, json.dumps(body, separators=(",", ":")).encode(), associated))


def open_proof(session_key: bytes, sealed: bytes, *, session_id: int, student_id: int, round_: int) -> Proof:
    """DecryptError when not sealed under this key for this session, student and round;
    ProofMalformed when it opens to something else than a proof."""
    plaintext = open_sealed(session_key, sealed, proof_associated_data(session_id, student_id, round_))
    try:
        data = json.loads(plaintext)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProofMalformed("not JSON") from None
    if not isinstance(data, dict):
        raise ProofMalformed("not a JSON object")
    try:
        loaded = _SCHEMA.load(data)
    except marshmallow.ValidationError as exc:
        raise ProofMalformed(str(exc.normalized_messages())) from None
    return Proof(round=round_, **loaded)
