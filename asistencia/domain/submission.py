"""The checks of a scan that need only the student's key and the submission itself.

They run first, in SPEC §3.5 order (after the network rule of the session):
the proof opens under the key and is well formed; the QR opens under the same
key, is for this session and student; the proof is about this QR. The checks
that need the pool's shared state (exists, projected, window, used, round,
attempts) follow in one atomic Valkey script.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from asistencia.crypto import DecryptError
from asistencia.domain.networks import is_allowed
from asistencia.domain.proof import Proof, ProofMalformed, open_proof
from asistencia.domain.qr_payload import QrPayload, open_qr


class ScanRefused(Exception):
    """A check failed; `code` names which (docs/protocol.md lists them)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclasses.dataclass(frozen=True)
class Submission:
    payload: QrPayload
    proof: Proof


def check(*, session_key: bytes, session_id: int, student_id: int, qr_text: str, sealed_proof: bytes,
          remote: str | None, allowed_networks: Sequence[str]) -> Submission:
    if not is_allowed(remote, allowed_networks):
        raise ScanRefused("NETWORK_NOT_ALLOWED")
    try:
        proof = open_proof(session_key, sealed_proof)
    except DecryptError:
        raise ScanRefused("PROOF_INVALID") from None
    except ProofMalformed:
        raise ScanRefused("PROOF_MALFORMED") from None
    try:
        payload = open_qr(session_key, qr_text)
    except DecryptError:
        raise ScanRefused("QR_NOT_YOURS") from None
    except ValueError:
        # It opened under the student's own key, so the student's device made it: not a code we issued.
        raise ScanRefused("QR_UNKNOWN") from None
    if payload.session_id != session_id or payload.student_id != student_id:
        raise ScanRefused("QR_NOT_YOURS")
    if payload.nonce != proof.nonce:
        raise ScanRefused("PROOF_MISMATCH")
    return Submission(payload, proof)
