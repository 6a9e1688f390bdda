"""Live counters of a class session: where every joined student stands now.

joined = in_progress + present + late + doubtful + justified + failed + absent,
always. A student is counted by the status that counts: the outcome's once
there is one (computed at completion or close, or set by a professor),
else their progress (scanning or out of attempts). `absent` fills at close
(every student still scanning or failed). A professor's override moves its
student to the override's counter and keeps them there: later progress of
an overridden student (completing, failing, a reset) moves no counter.
"""

from __future__ import annotations

from asistencia.domain import outcome, rounds
from asistencia.domain.rounds import Progress

FIELDS = ("joined", "in_progress", "present", "late", "doubtful", "justified", "failed", "absent")
_BY_STATUS = {outcome.PRESENT: "present", outcome.LATE: "late", outcome.DOUBTFUL: "doubtful",
              outcome.JUSTIFIED: "justified", outcome.ABSENT: "absent"}


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


def standing(state: str, status: str | None) -> str:
    """The counter a registration is in: its outcome's status once it has one, else its progress."""
    if status is not None:
        return _BY_STATUS[status]
    return "failed" if state == rounds.FAILED else "in_progress"


def override_changes(state: str | None, replaced: str | None, status: str) -> dict[str, int]:
    """Counter increments for an override to `status` of a registration in `state` whose outcome
    status was `replaced` (None: no outcome yet); `state` None: a professor's mark by hand
    registered the student just now."""
    delta = dict.fromkeys(FIELDS, 0)
    if state is None:
        delta["joined"] = 1
    else:
        delta[standing(state, replaced)] -= 1
    delta[_BY_STATUS[status]] += 1
    return delta
