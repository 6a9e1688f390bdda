"""How sure we are that a human with the enrolled phone saw each projected code.

Input: the response time of each passed round (server receipt minus the
latest projection of that round's QR). Output: 0–100.

1. Each round scores its *plausibility*: 0 below 150 ms (faster than a phone
   can see a flashing code, decode it and get an answer across the network:
   a bot reading the projector feed), rising linearly to 1 at 400 ms, 1 up to
   8 s (a person aiming a phone at the screen, campus Wi-Fi included), then
   falling linearly to 0 at 20 s (a photo relayed from the room to someone
   elsewhere takes that long).
2. The rounds' mean plausibility is scaled by *consistency*: one phone in one
   room answers each round in similar time. With two or more rounds, a
   coefficient of variation (population sd / mean) up to 0.6 keeps the full
   score; above it the score shrinks linearly to 40 % at 1.4 and beyond
   (some rounds relayed, some not).

score = round(100 × mean(plausibility) × consistency). PRESENT needs ≥ 70
(see `outcome`), so one implausible round out of three already makes a
student DOUBTFUL.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

TOO_FAST_MS = 150
PLAUSIBLE_FROM_MS = 400
PLAUSIBLE_UNTIL_MS = 8_000
TOO_SLOW_MS = 20_000
CONSISTENT_CV = 0.6
INCONSISTENT_CV = 1.4
INCONSISTENT_FACTOR = 0.4


def _ramp(value: float, zero_at: float, one_at: float) -> float:
    """0 at `zero_at`, 1 at `one_at`, linear between, clamped outside."""
    fraction = (value - zero_at) / (one_at - zero_at)
    return min(1.0, max(0.0, fraction))


def plausibility(response_ms: float) -> float:
    if response_ms <= PLAUSIBLE_UNTIL_MS:
        return _ramp(response_ms, TOO_FAST_MS, PLAUSIBLE_FROM_MS)
    return _ramp(response_ms, TOO_SLOW_MS, PLAUSIBLE_UNTIL_MS)


def consistency(response_ms: Sequence[float]) -> float:
    if len(response_ms) < 2:
        return 1.0
    mean = statistics.fmean(response_ms)
    if mean <= 0:
        return INCONSISTENT_FACTOR
    cv = statistics.pstdev(response_ms) / mean
    return 1.0 - (1.0 - INCONSISTENT_FACTOR) * _ramp(cv, CONSISTENT_CV, INCONSISTENT_CV)


def certainty(response_ms: Sequence[float]) -> int:
    if not response_ms:
        return 0
    mean_plausibility = statistics.fmean(plausibility(rt) for rt in response_ms)
    return round(100 * mean_plausibility * consistency(response_ms))
