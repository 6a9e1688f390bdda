"""When a projector ticks and how long a QR stays on screen: pure timing rules."""

from __future__ import annotations

import math

# A QR is projected during the first three quarters of its validity window,
# so a phone that catches its last showing still has a quarter of the window
# (5 s by default) to answer before it expires.
PROJECTABLE_FRACTION = 0.75


def projectable_ms(window_seconds: float) -> int:
    return int(window_seconds * 1000 * PROJECTABLE_FRACTION)


def window_ms(window_seconds: float) -> int:
    return int(window_seconds * 1000)


# However often a code could be shown, it carries at most this many texts (a
# code that runs out is re-issued, like one past its projectable time): the
# pool's memory is bounded by the class size times this.
MAX_TEXTS_PER_CODE = 16


def texts_per_code(*, window_seconds: float, tick_ms: int, per_frame: int, min_pool: int) -> int:
    """How many texts a code needs so that each of its showings projects a new one.

    A code is shown at most once per frame, and with a pool of P codes and F
    per frame about once every P/F frames; the pool never has fewer codes than
    `min_pool` (decoys pad it), so that bounds how often a code comes round
    within its projectable time.
    """
    frames_between_showings = max(1.0, max(1, min_pool) / per_frame)
    showings = int(projectable_ms(window_seconds) / (tick_ms * frames_between_showings)) + 1
    return max(1, min(MAX_TEXTS_PER_CODE, showings))


def next_deadline(previous: float, now: float, period: float) -> float:
    """The next tick on the fixed grid `previous + k·period` that is still ahead of `now`.

    Ticks are scheduled by absolute deadlines, so sleeping a little late never
    accumulates into drift; ticks missed under load are skipped, not bunched.
    """
    deadline = previous + period
    if deadline <= now:
        deadline += (math.floor((now - deadline) / period) + 1) * period
    return deadline


# Where in its slot a session's frame is due: a fraction of the tick, spread
# over sessions so a process with many sessions does not write every frame
# at one instant. Kept a quarter tick clear of either end of the slot, and
# at least FETCH_AHEAD + 0.2 from its start.
SLOT_POINTS = (0.45, 0.75)
_GOLDEN = (math.sqrt(5) - 1) / 2


def slot_point(session_id: int) -> float:
    """The fraction of its slot at which a session's frame is due (the same on every process).

    Consecutive ids land far apart (golden-ratio spacing), so any handful of
    sessions is spread evenly over the range.
    """
    low, high = SLOT_POINTS
    return low + (high - low) * ((session_id * _GOLDEN) % 1)


def showing_offset_ms(session_id: int, tick_ms: int) -> int:
    """Where in its tick slot a session's frame goes on screen (ms): the start of its showing."""
    return round(slot_point(session_id) * tick_ms)


def to_slot_point(server_now_ms: int, tick_ms: int, point: float) -> float:
    """Seconds from `server_now_ms` to `point` (a fraction) of its tick slot (negative once past it).

    Projectors on every process share one frame per slot (floor(now / tick))
    and show it well inside the slot: showing it near a slot boundary would,
    with jitter, show one slot twice and skip the next.
    """
    return (tick_ms * point - server_now_ms % tick_ms) / 1000
