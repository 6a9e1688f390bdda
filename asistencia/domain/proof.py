"""The proof a scanner sends with a QR text: it saw this code, with this device, now.

proof = base64url(AES-256-GCM(session_key, JSON)) with the JSON
    {"nonce": <base64url of the QR's 8-byte nonce>, "round": <int>,
     "totp": "<6 digits>", "client_time": <unix ms>}
Only the device holding the session key can make one. `client_time` is the
phone's clock, reported for diagnostics and never trusted.
"""

from __future__ import annotations

import dataclasses
import json

import marshmallow
from marshmallow import fields, validate

from asistencia.crypto import TOTP_DIGITS, b64url_decode, b64url_encode, open_sealed, seal
from asistencia.domain.qr_payload import NONCE_BYTES


class ProofMalformed(ValueError):
    """The proof opened under the student's key but is not shaped like a proof."""


@dataclasses.dataclass(frozen=True)
class Proof:
    nonce: bytes
    round: int
    totp: str
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
    round = fields.Integer(required=True, strict=True, validate=validate.Range(1, 255))
    totp = fields.String(required=True, validate=validate.Regexp(rf"^[0-9]{{{TOTP_DIGITS}}}$"))
    client_time = fields.Integer(required=True, strict=True, validate=validate.Range(0, 2**53))


_SCHEMA = _ProofSchema()


def seal_proof(session_key: bytes, proof: Proof) -> str:
    body = {"nonce": b64url_encode(proof.nonce), "round": proof.round, "totp": proof.totp,
            "client_time": proof.client_time}
    return b64url_encode(seal(session_key, json.dumps(body, separators=(",", ":")).encode()))


def open_proof(session_key: bytes, sealed: bytes) -> Proof:
    """DecryptError when not sealed under this key; ProofMalformed when it opens to something else."""
    plaintext = open_sealed(session_key, sealed)
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
    return Proof(**loaded)
