"""How sure we are that the enrolled phone saw each code in the room (SPEC §3.6).

Input: the response time of each passed round — the server's receipt minus
the start of the showing whose text the phone answered, both on Valkey's
clock (every showing projects a text of its own, so the showing is known
exactly). Output: 0–100; PRESENT needs 70 (`outcome.PRESENT_MIN_CERTAINTY`).

The rule (figures that chose it: docs/certainty.md):

1. One figure per student, robust to a stalled round: the *lower median* of
   the rounds' response times (the middle one of three; of two, the faster).
   One round held up by the network, however long, does not move it; a
   sighting relayed to someone elsewhere is late in every round, so it does.
2. That figure scores 100 from `TOO_FAST_MS` up to `PLAUSIBLE_UNTIL_MS`: an
   honest phone answers the showing it decoded within 1.5 s (a phone already
   aimed at the screen in 0.1–0.4 s, one being aimed in up to about 1.5 s,
   a showing's time on screen and the campus network included).
3. Past that the score falls linearly, crossing the PRESENT line (70) at
   `PRESENT_UNTIL_MS` and reaching 0 at `ZERO_AT_MS`: a photo passed over a
   chat to someone elsewhere adds two seconds or more to every round.
4. Below `TOO_FAST_MS` the score is 0, and only because it is physically
   impossible for a camera: the projector paints the frame (one display
   refresh, ~16 ms), the camera exposes and reads it out (~33 ms at 30
   frames/s), the phone decodes it and sends the answer across the network.
   Faster means the text did not come through a camera (a bot reading the
   projector's feed).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

TOO_FAST_MS = 50
PLAUSIBLE_UNTIL_MS = 1_500
PRESENT_UNTIL_MS = 1_900
# The score at PRESENT_UNTIL_MS: outcome.PRESENT_MIN_CERTAINTY (a test holds them equal).
PRESENT_SCORE = 70
FULL_SCORE = 100
ZERO_AT_MS = PLAUSIBLE_UNTIL_MS + (PRESENT_UNTIL_MS - PLAUSIBLE_UNTIL_MS) * FULL_SCORE / (FULL_SCORE - PRESENT_SCORE)


def typical_response_ms(response_ms: Sequence[float]) -> float:
    """The lower median: one stalled round (of two or more) never moves it up."""
    return statistics.median_low(response_ms)


def score(typical_ms: float) -> int:
    """0–100 for a student whose typical response time is `typical_ms`."""
    if typical_ms < TOO_FAST_MS:
        return 0
    if typical_ms <= PLAUSIBLE_UNTIL_MS:
        return FULL_SCORE
    fraction = (typical_ms - PLAUSIBLE_UNTIL_MS) / (ZERO_AT_MS - PLAUSIBLE_UNTIL_MS)
    return max(0, round(FULL_SCORE * (1 - fraction)))


def certainty(response_ms: Sequence[float]) -> int:
    if not response_ms:
        return 0
    return score(typical_response_ms(response_ms))
