"""The cryptographic building blocks of SPEC §5, shared by the server, the
Python reference client and (byte for byte) the browser's WebCrypto code.

Pure functions over bytes; no I/O. `docs/protocol.md` describes the same
formats for people writing other clients.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SESSION_INFO = b"asistencia/session/v1|"
TOTP_INFO = b"asistencia/totp/v1"
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
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


def base45_encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += [BASE45_ALPHABET[c], BASE45_ALPHABET[d], BASE45_ALPHABET[e]]
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += [BASE45_ALPHABET[c], BASE45_ALPHABET[d]]
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


def hkdf_sha256(secret: bytes, info: bytes, length: int = 32, salt: bytes = b"") -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


def derive_session_key(own_key: ec.EllipticCurvePrivateKey, peer_public_raw: bytes, credential_id: str) -> bytes:
    """HKDF-SHA256(ECDH, salt="", info="asistencia/session/v1|" + credential id (base64url text))."""
    shared = own_key.exchange(ec.ECDH(), load_public_key_raw(peer_public_raw))
    return hkdf_sha256(shared, SESSION_INFO + credential_id.encode("ascii"))


def login_challenge(server_challenge: bytes, client_public_raw: bytes) -> bytes:
    """The WebAuthn challenge of a device login: it vouches for the client's ECDH key."""
    return hashlib.sha256(server_challenge + client_public_raw).digest()


# --- TOTP (RFC 6238 with HMAC-SHA256) ---------------------------------------

def totp_key(session_key: bytes) -> bytes:
    return hkdf_sha256(session_key, TOTP_INFO)


def totp_at(key: bytes, unix_seconds: float) -> str:
    counter = int(unix_seconds) // TOTP_STEP_SECONDS
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha256).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_matches(key: bytes, code: str, unix_seconds: float, steps: int = 1) -> bool:
    """Accept the current step and `steps` either side, in constant time per candidate."""
    matched = False
    for delta in range(-steps, steps + 1):
        candidate = totp_at(key, unix_seconds + delta * TOTP_STEP_SECONDS)
        matched |= hmac.compare_digest(candidate, code)
    return matched


# --- AES-256-GCM ------------------------------------------------------------

def seal(key: bytes, plaintext: bytes) -> bytes:
    """iv (12) || ciphertext || tag (16)."""
    iv = os.urandom(IV_BYTES)
    return iv + AESGCM(key).encrypt(iv, plaintext, None)


def open_sealed(key: bytes, blob: bytes) -> bytes:
    if len(blob) < IV_BYTES + TAG_BYTES:
        raise DecryptError("too short")
    try:
        return AESGCM(key).decrypt(blob[:IV_BYTES], blob[IV_BYTES:], None)
    except InvalidTag:
        raise DecryptError("does not open under this key") from None
