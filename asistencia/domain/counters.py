"""Live counters of a class session: where every joined student stands now.

joined = in_progress + present + late + doubtful + failed + absent, always.
`absent` fills only at close (every student still scanning or failed).
Counters follow computed statuses; a professor's override does not move them.
"""

from __future__ import annotations

from asistencia.domain import outcome, rounds
from asistencia.domain.rounds import Progress

FIELDS = ("joined", "in_progress", "present", "late", "doubtful", "failed", "absent")
_BY_STATUS = {outcome.PRESENT: "present", outcome.LATE: "late", outcome.DOUBTFUL: "doubtful"}


def _bucket(progress: Progress, computed_status: str | None) -> str:
    if progress.state == rounds.COMPLETED:
        if computed_status not in _BY_STATUS:
            raise ValueError(f"completed without a computed status: {computed_status!r}")
        return _BY_STATUS[computed_status]
    return "failed" if progress.state == rounds.FAILED else "in_progress"


def changes(before: Progress | None, after: Progress, computed_status: str | None = None) -> dict[str, int]:
    """Counter increments for one registration moving from `before` (None: just joined) to `after`."""
    delta = dict.fromkeys(FIELDS, 0)
    if before is None:
        delta["joined"] = 1
    else:
        delta[_bucket(before, None)] -= 1
    delta[_bucket(after, computed_status)] += 1
    return delta
