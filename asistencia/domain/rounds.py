"""The round state machine of one registration, attempts, and what each refusal costs.

A registration is `scanning` (on `current_round`), `completed` (passed every
round) or `failed` (used up its attempts on a round; a professor's reset puts
it back to `scanning` on the same round).
"""

from __future__ import annotations

import dataclasses

# A class session has 1–MAX_ROUNDS rounds (SPEC §3.3).
MAX_ROUNDS = 10

SCANNING = "scanning"
COMPLETED = "completed"
FAILED = "failed"

# Refusals once the student's proof opened under their key, except those
# below, cost an attempt: only the student's device can produce them, and an
# honest scanner never submits a code it could not open or a stale round.
NOT_COUNTED = frozenset({
    "NETWORK_NOT_ALLOWED",  # where the phone is, not what it sent
    "PROOF_INVALID",  # the proof does not open under the key: anyone holding the token could send it
    "QR_ALREADY_USED",  # only the owner can use a QR: this is a retry of an accepted scan
    "QR_EXPIRED",  # an honest phone's answer held up by the network or a busy phone arrives late
    "NO_ATTEMPTS_LEFT",  # already failed
})


@dataclasses.dataclass(frozen=True)
class Progress:
    state: str
    current_round: int
    round_failures: int

    @property
    def rounds_completed(self) -> int:
        return self.current_round - 1


def joined() -> Progress:
    return Progress(SCANNING, 1, 0)


def passed(progress: Progress, rounds: int) -> Progress:
    """The current round was passed: on to the next, or done."""
    if progress.state != SCANNING:
        raise ValueError(f"cannot pass a round while {progress.state}")
    if progress.current_round >= rounds:
        return Progress(COMPLETED, rounds + 1, 0)
    return Progress(SCANNING, progress.current_round + 1, 0)


def failed_attempt(progress: Progress, attempts: int) -> Progress:
    failures = progress.round_failures + 1
    state = FAILED if progress.state == SCANNING and failures >= attempts else progress.state
    return Progress(state, progress.current_round, failures)


def reset(progress: Progress) -> Progress:
    """A professor gives new attempts on the same round."""
    if progress.state == COMPLETED:
        raise ValueError("a completed registration has nothing to reset")
    return Progress(SCANNING, progress.current_round, 0)


def attempts_left(progress: Progress, attempts: int) -> int:
    if progress.state != SCANNING:
        return 0
    return max(0, attempts - progress.round_failures)


def counts_against_attempts(code: str) -> bool:
    return code not in NOT_COUNTED
