"""Draw the scanner's app icons into static/icons/ (standard library only).

    python3 scripts/make_icons.py

A white check mark on the theme colour: `icon-*.png` on a rounded square,
`maskable-512.png` full-bleed with the mark inside the central safe zone
(the inner 80 % that every launcher's mask keeps). The PNGs are committed;
run this again only to change the design.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
THEME = (0x08, 0x47, 0x85)
WHITE = (0xFF, 0xFF, 0xFF)
# The check mark as two strokes, in units of the icon's side (0..1).
CHECK = ((0.28, 0.53), (0.44, 0.69), (0.74, 0.35))
STROKE = 0.085


def _segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _rounded_square_coverage(x: float, y: float, size: int, radius: float) -> float:
    """How much of pixel (x, y) the rounded square covers (1 inside, 0 outside, a ramp on the edge)."""
    cx = min(max(x, radius), size - radius)
    cy = min(max(y, radius), size - radius)
    return max(0.0, min(1.0, radius - math.hypot(x - cx, y - cy) + 0.5))


def draw(size: int, *, maskable: bool) -> bytes:
    """The icon's RGBA rows."""
    scale = 0.8 if maskable else 1.0  # maskable: the mark stays inside the safe zone
    points = [((0.5 + (px - 0.5) * scale) * size, (0.5 + (py - 0.5) * scale) * size) for px, py in CHECK]
    half = STROKE * scale * size / 2
    rows = bytearray()
    for row in range(size):
        rows.append(0)  # PNG filter: none
        y = row + 0.5
        for col in range(size):
            x = col + 0.5
            alpha = 1.0 if maskable else _rounded_square_coverage(x, y, size, size * 0.18)
            distance = min(_segment_distance(x, y, points[0], points[1]), _segment_distance(x, y, points[1], points[2]))
            mark = max(0.0, min(1.0, half - distance + 0.5))
            rows += bytes(round(t + (w - t) * mark) for t, w in zip(THEME, WHITE)) + bytes([round(alpha * 255)])
    return bytes(rows)


def png(size: int, rgba_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rgba_rows, 9)) + chunk(b"IEND", b"")


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                 ("maskable-512.png", 512, True)):
        (ICONS / name).write_bytes(png(size, draw(size, maskable=maskable)))
        print(f"wrote {ICONS / name}")


if __name__ == "__main__":
    main()
