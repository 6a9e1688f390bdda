"""Every refusal of the attendance loop: one code, one status, one message (docs/protocol.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from redis.exceptions import RedisError

from asistencia.errors import DEPENDENCY_FAILURES, ApiError, dependency_down

_REFUSALS: dict[str, tuple[int, str]] = {
    # class sessions and joining
    "SESSION_NOT_FOUND": (404, "No such class session"),
    "JOIN_CODE_UNKNOWN": (404, "No class session has this join code"),
    "SESSION_CLOSED": (422, "The class session is closed"),
    "SESSION_NOT_OPEN": (422, "The class session is a draft: its professor has not opened it yet"),
    "SESSION_NOT_DRAFT": (409, "Only a draft can be opened: this session was closed or cancelled"),
    "NOT_READY": (422, "Log this phone in first (device login; a revoked or replaced phone logs in no more)"),
    "NETWORK_NOT_ALLOWED": (403, "This class session does not accept connections from your network"),
    "STUDENT_ID_UNSUPPORTED": (422, "This student id does not fit the QR format"),
    "NOT_JOINED": (404, "The student has not joined this class session"),
    "ALREADY_COMPLETED": (409, "Every round is already done"),
    "ALREADY_SUBSCRIBED": (409, "This connection already follows a class session"),
    "JOIN_CODE_EXHAUSTED": (503, "Could not find a free join code; try again"),
    # scanning, in the order they are checked (SPEC §3.5)
    "PROOF_INVALID": (422, "The proof does not open with this phone's key"),
    "PROOF_MALFORMED": (400, "The proof is not shaped like a proof"),
    "QR_NOT_YOURS": (422, "This code is not for you"),
    "PROOF_MISMATCH": (422, "The proof is about another code"),
    "QR_UNKNOWN": (404, "This code was never issued"),
    "QR_NOT_PROJECTED": (422, "This code has not been projected yet"),
    "QR_EXPIRED": (410, "This code has expired"),
    "QR_ALREADY_USED": (409, "This code was already used"),
    "ROUND_MISMATCH": (422, "This code is not for your current round"),
    "FRAME_TOO_SOON": (422, "This frame came too soon after the one your last round answered"),
    "NO_ATTEMPTS_LEFT": (422, "No attempts left: ask the professor to reset you"),
}


def refusal(code: str, message: str | None = None) -> ApiError:
    status, default = _REFUSALS[code]
    return ApiError(message or default, code=code, status=status)


@contextlib.contextmanager
def dependencies_required() -> Iterator[None]:
    """PostgreSQL or Valkey unreachable mid-request: 503, so the client knows to retry."""
    try:
        yield
    except (RedisError, *DEPENDENCY_FAILURES) as exc:
        raise dependency_down(exc) from None
