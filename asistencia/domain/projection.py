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


def next_deadline(previous: float, now: float, period: float) -> float:
    """The next tick on the fixed grid `previous + k·period` that is still ahead of `now`.

    Ticks are scheduled by absolute deadlines, so sleeping a little late never
    accumulates into drift; ticks missed under load are skipped, not bunched.
    """
    deadline = previous + period
    if deadline <= now:
        deadline += (math.floor((now - deadline) / period) + 1) * period
    return deadline


def to_slot_middle(server_now_ms: int, tick_ms: int) -> float:
    """Seconds from `server_now_ms` to the middle of its tick slot (negative once past it).

    Projectors on every process share one frame per slot (floor(now / tick))
    and show it mid-slot: showing it near a slot boundary would, with jitter,
    show one slot twice and skip the next.
    """
    return (tick_ms / 2 - server_now_ms % tick_ms) / 1000
