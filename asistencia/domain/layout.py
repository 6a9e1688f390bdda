"""How large the projector draws each code: the readability floor of a frame.

The projector page (static/js/pages/qr_frame.js) draws a frame's codes as a
square grid, ceil(√F) codes a side for F codes per frame, in the largest
square its stage allows; in full screen on a 16:9 projector the stage is the
screen's height less the page's padding (`STAGE_HEIGHT_FRACTION`, measured
on the page by tests/browser/test_class_pages.py). A code of version 4 is 33
modules plus a 4-module quiet zone each side (41): on a 3 m high screen a
code of 45% of the height has 33 mm modules, which a phone camera at full
resolution resolves from the back row of a 15 m hall (a 12 MP camera with a
70° field of view sees 15 m wide at 15 m: 4000 px over 15 m is 3.7 mm per
pixel, 9 pixels per module, where decoders need about 3).
"""

from __future__ import annotations

import math

STAGE_HEIGHT_FRACTION = 0.94
# Below this share of the screen's height a code is not read from the back row.
MIN_CODE_HEIGHT_FRACTION = 0.45


def grid_side(per_frame: int) -> int:
    """Codes along each side of the frame's square grid (as qr_frame.js's gridSide)."""
    return max(1, math.ceil(math.sqrt(per_frame)))


def code_height_fraction(per_frame: int) -> float:
    """Each code's height as a fraction of the screen's, with `per_frame` codes per frame."""
    return round(STAGE_HEIGHT_FRACTION / grid_side(per_frame), 3)


def most_codes_per_frame() -> int:
    """The most codes a frame can hold with every code at least MIN_CODE_HEIGHT_FRACTION high."""
    side = math.floor(STAGE_HEIGHT_FRACTION / MIN_CODE_HEIGHT_FRACTION)
    return side * side
