"""The checks of a scan that need only the student's key and the submission itself.

They run first, in SPEC §3.5 order (after the network rule of the session):
the proof opens under the key and is well formed; the QR opens under the same
key, is for this session and student; the proof is about this QR. Both are
sealed with associated data naming the session, student and round, so the
proof is opened for the student's current round first and, only if that
fails, for every other round a session can have (at most ten tries of a
60-byte AES-GCM open): a proof for another round is the phone's own doing (ROUND_MISMATCH),
one that opens for none did not come from this phone (PROOF_INVALID). The checks
that need the pool's shared state (exists, projected, window, used, round,
attempts) follow in one atomic Valkey script.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from asistencia.crypto import DecryptError
from asistencia.domain.networks import is_allowed
from asistencia.domain.proof import Proof, ProofMalformed, open_proof
from asistencia.domain.qr_payload import QrPayload, open_qr
from asistencia.domain.rounds import MAX_ROUNDS
from asistencia.domain.shared_frame import open_frame


class ScanRefused(Exception):
    """A check failed; `code` names which (docs/protocol.md lists them)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclasses.dataclass(frozen=True)
class Submission:
    payload: QrPayload
    proof: Proof


def check(*, session_key: bytes, session_id: int, student_id: int, current_round: int, qr_text: str,
          sealed_proof: bytes, remote: str | None, allowed_networks: Sequence[str]) -> Submission:
    return _checked(
        lambda proof: _open_code(session_key, qr_text, session_id=session_id, student_id=student_id,
                                 rounds=dict.fromkeys((proof.round, current_round))),
        session_key=session_key, session_id=session_id, student_id=student_id, current_round=current_round,
        sealed_proof=sealed_proof, remote=remote, allowed_networks=allowed_networks)


def check_frame(*, session_key: bytes, projection_key: bytes, session_id: int, student_id: int, current_round: int,
                qr_text: str, sealed_proof: bytes, remote: str | None, allowed_networks: Sequence[str]) -> Submission:
    """`check` for a session in the shared-frame mode: the text must be one of its frames
    (sealed under the session's projection key), the proof the student's, about that frame."""
    return _checked(
        lambda proof: open_frame(projection_key, qr_text, session_id=session_id),
        session_key=session_key, session_id=session_id, student_id=student_id, current_round=current_round,
        sealed_proof=sealed_proof, remote=remote, allowed_networks=allowed_networks)


def _checked(open_code: Callable[[Proof], QrPayload], *, session_key: bytes, session_id: int, student_id: int,
             current_round: int, sealed_proof: bytes, remote: str | None,
             allowed_networks: Sequence[str]) -> Submission:
    """Network, proof, then the code `open_code` reads given the proof, and that both name one nonce."""
    if not is_allowed(remote, allowed_networks):
        raise ScanRefused("NETWORK_NOT_ALLOWED")
    proof = _open_proof(session_key, sealed_proof, session_id=session_id, student_id=student_id,
                        current_round=current_round)
    try:
        payload = open_code(proof)
    except DecryptError:
        raise ScanRefused("QR_NOT_YOURS") from None
    except ValueError:
        # It opened under a key only the student (or, for frames, the session's students) holds:
        # made by them, not a code we issued.
        raise ScanRefused("QR_UNKNOWN") from None
    if payload.nonce != proof.nonce:
        raise ScanRefused("PROOF_MISMATCH")
    return Submission(payload, proof)


def _open_proof(session_key: bytes, sealed: bytes, *, session_id: int, student_id: int, current_round: int) -> Proof:
    for round_ in (current_round, *(r for r in range(1, MAX_ROUNDS + 1) if r != current_round)):
        try:
            return open_proof(session_key, sealed, session_id=session_id, student_id=student_id, round_=round_)
        except DecryptError:
            continue
        except ProofMalformed:
            raise ScanRefused("PROOF_MALFORMED") from None
    raise ScanRefused("PROOF_INVALID")


def _open_code(session_key: bytes, qr_text: str, *, session_id: int, student_id: int,
               rounds: Iterable[int]) -> QrPayload:
    """The code opened for the proof's round or else the current one (a proof for
    another round than its code's is the pool's ROUND_MISMATCH)."""
    for round_ in rounds:
        try:
            return open_qr(session_key, qr_text, session_id=session_id, student_id=student_id, round_=round_)
        except DecryptError:
            continue
    raise DecryptError("not a code of this student")
