"""The projected QR codes (SPEC §5): a compact binary payload sealed for one student.

plaintext (22 bytes, big-endian):
    version u8 | session_id u32 | student_id u32 | round u8 | issued_at u32 (unix s) | nonce 8 bytes
sealed = AES-256-GCM(session_key, associated data = v2 | code | session | student | round):
         iv (12) || ciphertext (22) || tag (16)                             -> 50 bytes
text   = base45(sealed)                                                     -> 75 characters

The associated data means a code opens only for the session, student and
round it was made for, and never as a proof (docs/protocol.md §1).

One payload (one nonce) is sealed several times, each with a fresh IV: every
showing of a code projects a text of its own, so the server knows which
showing a scan answers (docs/protocol.md §2.4).

Base45 uses only the QR alphanumeric alphabet, so the code fits QR version 4
at error correction M. A decoy is 50 random bytes in base45: same length,
same alphabet, and without the key as random-looking as a real code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct

from asistencia.crypto import (CODE, PROTOCOL_VERSION, DecryptError, associated_data, base45_decode, base45_encode,
                               open_sealed, seal)

VERSION = PROTOCOL_VERSION
NONCE_BYTES = 8
_LAYOUT = struct.Struct(">BIIBI8s")
PLAINTEXT_BYTES = _LAYOUT.size  # 22
SEALED_BYTES = 12 + PLAINTEXT_BYTES + 16  # 50
TEXT_LENGTH = SEALED_BYTES // 2 * 3  # 75
MAX_ID = 0xFFFFFFFF
MAX_ROUND = 0xFF


@dataclasses.dataclass(frozen=True)
class QrPayload:
    session_id: int
    student_id: int
    round: int
    issued_at: int
    nonce: bytes

    @property
    def entry_id(self) -> str:
        """How the pool names this code: its nonce, in hex (never shown to anyone)."""
        return self.nonce.hex()


def pack(payload: QrPayload) -> bytes:
    """ValueError when a field does not fit its slot."""
    if not (0 <= payload.session_id <= MAX_ID and 0 <= payload.student_id <= MAX_ID
            and 0 <= payload.round <= MAX_ROUND and 0 <= payload.issued_at <= MAX_ID
            and len(payload.nonce) == NONCE_BYTES):
        raise ValueError("QR payload field out of range")
    return _LAYOUT.pack(VERSION, payload.session_id, payload.student_id, payload.round,
                        payload.issued_at, payload.nonce)


def unpack(data: bytes) -> QrPayload:
    if len(data) != PLAINTEXT_BYTES:
        raise ValueError("QR payload has the wrong length")
    version, session_id, student_id, round_, issued_at, nonce = _LAYOUT.unpack(data)
    if version != VERSION:
        raise ValueError(f"unknown QR payload version {version}")
    return QrPayload(session_id, student_id, round_, issued_at, nonce)


def new_payload(session_id: int, student_id: int, round_: int, issued_at: float) -> QrPayload:
    return QrPayload(session_id, student_id, round_, int(issued_at), os.urandom(NONCE_BYTES))


def code_associated_data(session_id: int, student_id: int, round_: int) -> bytes:
    return associated_data(CODE, session_id, student_id, round_)


def seal_qr(session_key: bytes, payload: QrPayload) -> str:
    associated = code_associated_data(payload.session_id, payload.student_id, payload.round)
    return base45_encode(seal(session_key, pack(payload), associated))


def open_payload(key: bytes, text: str, associated: bytes, *, expected: tuple[int, int, int]) -> QrPayload:
    """DecryptError unless `text` is base45 of a payload sealed under `key` with `associated`
    (of the right size); ValueError when it opens but its (session, student, round) is not `expected`."""
    try:
        sealed = base45_decode(text)
    except ValueError:
        raise DecryptError("not base45") from None
    if len(sealed) != SEALED_BYTES:
        raise DecryptError("wrong size")
    payload = unpack(open_sealed(key, sealed, associated))
    if (payload.session_id, payload.student_id, payload.round) != expected:
        raise ValueError("QR payload disagrees with its associated data")
    return payload


def open_qr(session_key: bytes, text: str, *, session_id: int, student_id: int, round_: int) -> QrPayload:
    """DecryptError when the text is not a code sealed with this key for this session,
    student and round (a decoy, someone else's, another round's, or not base45 of the
    right size); ValueError when it opens but is not a payload saying the same."""
    return open_payload(session_key, text, code_associated_data(session_id, student_id, round_),
                        expected=(session_id, student_id, round_))


@dataclasses.dataclass(frozen=True)
class RoundQr:
    """A student's QR for one round, as the pool holds it: one payload, a text per showing."""

    entry_id: str
    owner: int
    round: int
    key_id: str
    texts: tuple[str, ...]


def key_id(session_key: bytes) -> str:
    """A short fingerprint of the key a QR was sealed with: a new device login means a new QR."""
    return hashlib.sha256(session_key).hexdigest()[:16]


def round_qr(session_key: bytes, session_id: int, student_id: int, round_: int, now: float, *,
             texts: int = 1) -> RoundQr:
    """The round's code with `texts` texts: the same payload, each sealed with a fresh IV."""
    payload = new_payload(session_id, student_id, round_, now)
    return RoundQr(payload.entry_id, student_id, round_, key_id(session_key),
                   tuple(seal_qr(session_key, payload) for _ in range(texts)))


def decoy(texts: int = 1) -> tuple[str, tuple[str, ...]]:
    """(entry id, texts): named like a real entry (8 random bytes in hex); each text 50 random
    bytes in base45, so a decoy changes from showing to showing as a real code does."""
    return os.urandom(NONCE_BYTES).hex(), tuple(base45_encode(os.urandom(SEALED_BYTES)) for _ in range(texts))
