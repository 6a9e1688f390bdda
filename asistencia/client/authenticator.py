"""A passkey in software: what a phone's browser and platform authenticator do together.

`create` answers navigator.credentials.create() options and `get` answers
navigator.credentials.get() options, both in the JSON form of
PublicKeyCredential.toJSON(): an ES256 (P-256) credential, a CBOR
attestation object in the "none" format, authenticator data with the RP id
hash, flags (UP, UV, AT) and the signature counter, clientDataJSON with the
page's origin, and the assertion signature.

Keyword arguments bend one thing at a time (another origin or RP id, no
user verification, a chosen counter, a broken signature) to behave like a
misconfigured or hostile client. It does not filter by allowCredentials or
excludeCredentials: refusing those is the server's job, so it must not rely
on the client.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from asistencia.crypto import b64url_encode

ES256 = -7
FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_AT = 0x40


def _cose_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    numbers = key.public_key().public_numbers()
    # COSE_Key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
    return cbor2.dumps({1: 2, 3: ES256, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


def _client_data(ceremony: str, options: dict[str, Any], origin: str) -> bytes:
    return json.dumps({"type": ceremony, "challenge": options["challenge"], "origin": origin,
                       "crossOrigin": False}, separators=(",", ":")).encode()


@dataclasses.dataclass
class Authenticator:
    """One passkey on one phone, used from pages at `origin`.

    Copy it (dataclasses.replace) to get a clone that shares key and counter.
    """

    rp_id: str
    origin: str
    key: ec.EllipticCurvePrivateKey = dataclasses.field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = dataclasses.field(default_factory=lambda: os.urandom(32))
    aaguid: bytes = bytes(16)
    sign_count: int = 0
    transports: tuple[str, ...] = ("internal",)

    @property
    def credential_id_text(self) -> str:
        """The credential id as the browser reports it (base64url)."""
        return b64url_encode(self.credential_id)

    def _auth_data(self, rp_id: str | None, user_verified: bool, attested: bytes = b"") -> bytes:
        flags = FLAG_UP | (FLAG_UV if user_verified else 0) | (FLAG_AT if attested else 0)
        return (hashlib.sha256((rp_id or self.rp_id).encode()).digest() + bytes([flags])
                + self.sign_count.to_bytes(4, "big") + attested)

    def create(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
               user_verified: bool = True) -> dict[str, Any]:
        """A registration response to creation options."""
        if not any(param.get("alg") == ES256 for param in options.get("pubKeyCredParams", [])):
            raise ValueError("the options do not accept ES256, the only algorithm this authenticator has")
        attested = (self.aaguid + len(self.credential_id).to_bytes(2, "big") + self.credential_id
                    + _cose_key(self.key))
        auth_data = self._auth_data(rp_id or options.get("rp", {}).get("id"), user_verified, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = _client_data("webauthn.create", options, origin or self.origin)
        public_key = self.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return self._credential(client_data, auth_data, {
            "attestationObject": b64url_encode(attestation),
            "publicKey": b64url_encode(public_key),
            "publicKeyAlgorithm": ES256,
            "transports": list(self.transports),
        })

    def get(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
            user_verified: bool = True, sign_count: int | None = None,
            tamper_signature: bool = False) -> dict[str, Any]:
        """An assertion over request options; the counter goes up by one unless `sign_count` is given."""
        self.sign_count = self.sign_count + 1 if sign_count is None else sign_count
        auth_data = self._auth_data(rp_id or options.get("rpId"), user_verified)
        client_data = _client_data("webauthn.get", options, origin or self.origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        if tamper_signature:
            # The last byte lies inside the DER integer s: still well-formed, no longer valid.
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        return self._credential(client_data, auth_data, {"signature": b64url_encode(signature), "userHandle": None})

    def _credential(self, client_data: bytes, auth_data: bytes, response: dict[str, Any]) -> dict[str, Any]:
        """PublicKeyCredential.toJSON() around a ceremony's response fields."""
        return {
            "id": self.credential_id_text,
            "rawId": self.credential_id_text,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url_encode(client_data),
                         "authenticatorData": b64url_encode(auth_data), **response},
        }
