"""Shared frames (docs/protocol.md §8): one code per frame for the whole class.

A large hall cannot wait for every student's own code to come round (rounds·N
showings); in the shared mode each tick projects one **frame** that every
joined student can open, and each student answers it with a proof sealed
under their own session key, exactly as they answer their own code.

projection key: 32 random bytes per class session, held by the server
                wrapped under its key-encryption key; each joined student
                gets it wrapped under their session key:
    wrapped = base64url(AES-256-GCM(session_key, projection_key,
                                    associated data = v2 | projection key | session | student | 0))
frame payload (22 bytes, the layout of a code with student 0 and round 0):
    version u8 | session_id u32 | 0 u32 | 0 u8 | issued_at u32 (unix s) | nonce 8 bytes
frame text:  base45(AES-256-GCM(projection_key, payload,
                                associated data = v2 | frame | session | 0 | 0))  -> 75 characters

The proof is the code's proof (domain/proof.py) with the frame's nonce. A
round is answered with one frame; the next round needs a frame issued at
least `round_gap_seconds` after the one answered before (the payloads'
`issued_at`, which both sides read), so the rounds are sightings some
seconds apart, not one glance.
"""

from __future__ import annotations

import dataclasses
import os

from asistencia.crypto import (FRAME, PROJECTION_KEY, DecryptError, associated_data, b64url_decode, b64url_encode,
                               base45_encode, open_sealed, seal)
from asistencia.domain.qr_payload import NONCE_BYTES, QrPayload, open_payload, pack

KEY_BYTES = 32


def new_projection_key() -> bytes:
    return os.urandom(KEY_BYTES)


def key_associated_data(session_id: int, student_id: int) -> bytes:
    return associated_data(PROJECTION_KEY, session_id, student_id, 0)


def frame_associated_data(session_id: int) -> bytes:
    return associated_data(FRAME, session_id, 0, 0)


def wrap_for_student(session_key: bytes, projection_key: bytes, *, session_id: int, student_id: int) -> str:
    return b64url_encode(seal(session_key, projection_key, key_associated_data(session_id, student_id)))


def unwrap_for_student(session_key: bytes, wrapped: str, *, session_id: int, student_id: int) -> bytes:
    """DecryptError unless sealed under this session key for this session and student."""
    key = open_sealed(session_key, b64url_decode(wrapped), key_associated_data(session_id, student_id))
    if len(key) != KEY_BYTES:
        raise DecryptError("not a projection key")
    return key


@dataclasses.dataclass(frozen=True)
class Frame:
    """One shared frame as the server makes it: its text and what the pool keeps of it."""

    text: str
    nonce: bytes
    issued_at: int

    @property
    def entry_id(self) -> str:
        return self.nonce.hex()


def new_frame(projection_key: bytes, session_id: int, now: float) -> Frame:
    payload = QrPayload(session_id, 0, 0, int(now), os.urandom(NONCE_BYTES))
    text = base45_encode(seal(projection_key, pack(payload), frame_associated_data(session_id)))
    return Frame(text, payload.nonce, payload.issued_at)


def open_frame(projection_key: bytes, text: str, *, session_id: int) -> QrPayload:
    """DecryptError when the text is not a frame of this session under this key (someone's
    code, a decoy, another session's frame); ValueError when it opens but says otherwise."""
    return open_payload(projection_key, text, frame_associated_data(session_id), expected=(session_id, 0, 0))


def next_round_may_answer(previous_issued_at: int | None, issued_at: int, round_gap_seconds: int) -> bool:
    """Whether a frame issued at `issued_at` may answer the round after one answered with a
    frame issued at `previous_issued_at` (None: the first round, any frame)."""
    return previous_issued_at is None or issued_at - previous_issued_at >= round_gap_seconds
