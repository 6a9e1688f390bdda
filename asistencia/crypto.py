"""The cryptographic building blocks of SPEC §5, shared by the server, the
Python reference client and (byte for byte) the browser's WebCrypto code.

Pure functions over bytes; no I/O. `docs/protocol.md` describes the same
formats for people writing other clients.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PROTOCOL_VERSION = 2
HKDF_SALT = b"asistencia/protocol/v2"
SESSION_INFO = b"asistencia/session/v2|"
# Message kinds in the associated data: a code can never open as a proof, nor a proof as a code.
CODE = 1
PROOF = 2
PROJECTION_KEY = 3  # a shared-frame session's projection key, wrapped for one student
FRAME = 4  # a shared frame (sealed under the projection key)
_ASSOCIATED = struct.Struct(">BBIIB")  # version, kind, session, student, round
KEY_BYTES = 32
IV_BYTES = 12
TAG_BYTES = 16
P256_RAW_BYTES = 65


class DecryptError(ValueError):
    """Ciphertext that does not open under this key (not ours, or tampered)."""


# --- encodings -------------------------------------------------------------

def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; ValueError on anything else."""
    if not isinstance(text, str) or any(c not in _B64URL for c in text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

# RFC 9285 base45: QR alphanumeric mode stores 45 symbols at 5.5 bits each.
BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_INDEX = {c: i for i, c in enumerate(BASE45_ALPHABET)}


# The first two characters of every value below 45²: a scan seals several texts, and this
# encoding was its largest pure-Python cost.
_BASE45_LOW = [BASE45_ALPHABET[n % 45] + BASE45_ALPHABET[n // 45] for n in range(45 * 45)]


def base45_encode(data: bytes) -> str:
    """Each two bytes (big-endian n) as three characters c d e, n = c + 45·d + 45²·e; a last odd byte as two."""
    pairs = len(data) // 2
    out = [_BASE45_LOW[n % 2025] + BASE45_ALPHABET[n // 2025]
           for n in struct.unpack(f">{pairs}H", data[:pairs * 2])]
    if len(data) % 2:
        out.append(_BASE45_LOW[data[-1]])
    return "".join(out)


def base45_decode(text: str) -> bytes:
    try:
        values = [_BASE45_INDEX[c] for c in text]
    except KeyError:
        raise ValueError("not base45") from None
    if len(values) % 3 == 1:
        raise ValueError("not base45")
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i:i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 2025
            if n > 0xFFFF:
                raise ValueError("not base45")
            out += n.to_bytes(2, "big")
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                raise ValueError("not base45")
            out.append(n)
    return bytes(out)


# --- key agreement and derivation -------------------------------------------

def new_ecdh_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_key_raw(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The uncompressed point (0x04 || X || Y), as WebCrypto's 'raw' export."""
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_public_key_raw(raw: bytes) -> ec.EllipticCurvePublicKey:
    """ValueError unless `raw` is an uncompressed point on P-256."""
    if len(raw) != P256_RAW_BYTES or raw[0] != 4:
        raise ValueError("expected a 65-byte uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def session_key_from_shared(shared: bytes, credential_id: str) -> bytes:
    """HKDF-SHA256(ECDH secret, salt="asistencia/protocol/v2",
    info="asistencia/session/v2|" + credential id (base64url text), 32 bytes)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=HKDF_SALT,
                info=SESSION_INFO + credential_id.encode("ascii")).derive(shared)


def derive_session_key(own_key: ec.EllipticCurvePrivateKey, peer_public_raw: bytes, credential_id: str) -> bytes:
    return session_key_from_shared(own_key.exchange(ec.ECDH(), load_public_key_raw(peer_public_raw)),
                                   credential_id)


def login_challenge(server_challenge: bytes, client_public_raw: bytes) -> bytes:
    """The WebAuthn challenge of a device login: it vouches for the client's ECDH key."""
    return hashlib.sha256(server_challenge + client_public_raw).digest()


# --- AES-256-GCM ------------------------------------------------------------

def associated_data(kind: int, session_id: int, student_id: int, round_: int) -> bytes:
    """What a code or proof is about, bound to it without being sent (11 bytes):
    protocol version u8 | kind u8 | session u32 | student u32 | round u8, big-endian.
    ValueError when a field does not fit."""
    try:
        return _ASSOCIATED.pack(PROTOCOL_VERSION, kind, session_id, student_id, round_)
    except struct.error:
        raise ValueError("associated data field out of range") from None


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """iv (12) || ciphertext || tag (16)."""
    iv = os.urandom(IV_BYTES)
    return iv + AESGCM(key).encrypt(iv, plaintext, associated)


def open_sealed(key: bytes, blob: bytes, associated: bytes) -> bytes:
    """DecryptError unless `blob` was sealed under `key` with exactly `associated`."""
    if len(blob) < IV_BYTES + TAG_BYTES:
        raise DecryptError("too short")
    try:
        return AESGCM(key).decrypt(blob[:IV_BYTES], blob[IV_BYTES:], associated)
    except InvalidTag:
        raise DecryptError("does not open under this key") from None


# --- session keys at rest ---------------------------------------------------

def kek_id(kek: bytes) -> str:
    """Names a key-encryption key without revealing it (8 hex digits)."""
    return hashlib.sha256(b"asistencia/kek-id|" + kek).hexdigest()[:8]


@dataclasses.dataclass(frozen=True)
class KeyRing:
    """Key-encryption keys for session keys at rest: new wraps use `current`;
    `previous` ones still unwrap, so a key can be rotated without logging anyone out."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    def wrap(self, key: bytes, context: bytes) -> tuple[str, bytes]:
        """(key id, iv || AES-256-GCM(kek, key, context)); `context` names the key's owner."""
        return kek_id(self.current), seal(self.current, key, context)

    def unwrap(self, kid: str, wrapped: bytes, context: bytes) -> bytes:
        """DecryptError when no configured KEK has that id or the blob is not for `context`."""
        for kek in (self.current, *self.previous):
            if kek_id(kek) == kid:
                return open_sealed(kek, wrapped, context)
        raise DecryptError("wrapped under a key-encryption key no longer configured")
