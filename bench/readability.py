"""Readability from the back of a room: distance → share of camera frames the scanner reads.

    .venv/bin/python -m bench.readability [--trials 24] [--seed 20261206]

The scanner's own decoder (static/js/lib/qr_decode.js, run by Node from
bench/readability.mjs) on synthetic camera frames of the projector's code
(version 4, level M, random 75-character texts, as the projector draws
them), degraded as a phone sees them: tilted in 3D (seated off-axis, the
screen above, the hand's roll), off the frame's centre, washed out by a lit
room, blurred and noisy (docs/readability.md gives the model and its
figures). For each distance and zoom it prints the share of frames read:

- "960 px": the whole frame scaled to 960 px (the scanner before issue 11);
- "full": the scanner now, which alternates that with the frame's centre
  at the camera's full resolution (camera.js View.CENTRE): read by either.

Zoom 2× is the MediaStreamTrack zoom a phone's camera offers (a sensor
crop): twice the pixels per module, and twice the blur (hand shake and
optics are angles). Figures only, no assertions;
bench/results/readability.json keeps them.
"""

from __future__ import annotations

import argparse
import json
import subprocess

from asistencia.config import PROJECT_ROOT
from bench.lib import emit_json


def measure(trials: int, seed: int) -> list[dict]:
    completed = subprocess.run(
        ["node", "--experimental-detect-module", "--no-warnings", str(PROJECT_ROOT / "bench" / "readability.mjs"),
         json.dumps({"trials": trials, "seed": seed})],
        check=True, capture_output=True, text=True, timeout=1800)
    return [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]


def table(rows: list[dict]) -> str:
    zooms = sorted({row["zoom"] for row in rows})
    head = ["distance", "px/module (960 / full)"] + [
        f"{label}{'' if zoom == 1 else f' + zoom {zoom}×'}" for zoom in zooms for label in ("960 px", "full")]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for distance in sorted({row["distance_m"] for row in rows}):
        cells = {row["zoom"]: row for row in rows if row["distance_m"] == distance}
        plain = cells[1]
        line = [f"{distance} m", f"{plain['module_px_960']:.1f} / {plain['module_px_full']:.1f}"]
        for zoom in zooms:
            line += [f"{cells[zoom]['read_960']:.0%}", f"{cells[zoom]['read_full']:.0%}"]
        lines.append("| " + " | ".join(line) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24, help="frames per distance and zoom")
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    rows = measure(args.trials, args.seed)
    print(f"Frames read by the scanner's decoder, {args.trials} degraded frames per cell "
          "(docs/readability.md):\n")
    print(table(rows))
    emit_json("readability", {"trials": args.trials, "seed": args.seed, "rows": rows})


if __name__ == "__main__":
    main()
