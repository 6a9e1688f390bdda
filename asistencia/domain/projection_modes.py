"""Which projection a class session uses (docs/protocol.md §2 and §8).

`per_student`: every student's own code, in turn, a few per frame: the
strongest mode, but every code must come round once per round, so the time
grows with the class. `shared`: one frame per tick for the whole class, each
student answering it with their own proof: the time does not grow with the
class (figures in bench/README.md). A session takes the mode the professor
chose, else the one that fits its course's size (its roster, or its busiest
earlier session: `store.rosters.class_size`).
"""

from __future__ import annotations

PER_STUDENT = "per_student"
SHARED = "shared"
PROJECTION_MODES = (PER_STUDENT, SHARED)
AUTO = "auto"


def resolve(chosen: str, class_size: int, *, shared_from: int) -> str:
    """The mode of a new session: the chosen one, or by the class size (`auto`)."""
    if chosen != AUTO:
        return chosen
    return SHARED if class_size >= shared_from else PER_STUDENT
