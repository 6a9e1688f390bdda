"""A registration's outcome (SPEC §3.6): the statistics of its rounds and its status."""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Sequence

from asistencia.domain.certainty import certainty

PRESENT = "PRESENT"
LATE = "LATE"
DOUBTFUL = "DOUBTFUL"
ABSENT = "ABSENT"
JUSTIFIED = "JUSTIFIED"  # set by a professor only
COMPUTED_STATUSES = (PRESENT, LATE, DOUBTFUL, ABSENT)
STATUSES = (*COMPUTED_STATUSES, JUSTIFIED)
ATTENDED = (PRESENT, LATE, JUSTIFIED)
PRESENT_MIN_CERTAINTY = 70


@dataclasses.dataclass(frozen=True)
class Outcome:
    computed_status: str
    certainty: int | None
    rounds_completed: int
    rt_mean_ms: float | None = None
    rt_sd_ms: float | None = None
    rt_min_ms: int | None = None
    rt_max_ms: int | None = None
    rt_median_ms: float | None = None


def is_late(joined_at: dt.datetime, started_at: dt.datetime, late_after_minutes: int | None) -> bool:
    """Joined after the session's late threshold (none set: nobody is late)."""
    if late_after_minutes is None:
        return False
    return joined_at > started_at + dt.timedelta(minutes=late_after_minutes)


def status_for(score: int, late: bool) -> str:
    if score < PRESENT_MIN_CERTAINTY:
        return DOUBTFUL
    return LATE if late else PRESENT


def completed(response_ms: Sequence[int], *, late: bool) -> Outcome:
    """The outcome of a student who passed every round."""
    score = certainty(response_ms)
    return Outcome(
        computed_status=status_for(score, late),
        certainty=score,
        rounds_completed=len(response_ms),
        rt_mean_ms=statistics.fmean(response_ms),
        rt_sd_ms=statistics.pstdev(response_ms),
        rt_min_ms=min(response_ms),
        rt_max_ms=max(response_ms),
        rt_median_ms=float(statistics.median(response_ms)),
    )
