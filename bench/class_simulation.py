"""Whole classes from join to completed, in every projection mode, against the display bound.

    .venv/bin/python -m bench.class_simulation [--classes 300 40] [--rounds 3]
                                               [--modes per_student:1 per_student:4 shared]

With no arguments: the 300- and 40-student classes in every mode, today's
per-student mode with one code per frame (`per_student:1`) first, as the
baseline measured in the same run. Under 12 minutes on the 2-core dev VM.

The largest class is made READY once (real passkey enrollment and device
login; not timed); a smaller class is its first students. Each mode gets a
server process on the same database and Valkey (`per_student:F` runs with
QR_PER_FRAME=F; `shared` opens its sessions with `projection_mode:
"shared"`), a new session per class and one projector socket at the default
tick. Once the projector shows frames every student's reference scanner
joins and scans like a phone in a hall: it misses each frame with
probability 20% (the student looked away), takes a random 0.3–1.5 s
(uniform) from seeing its code to answering, and then looks at the screen
as it is (not at the frames shown while it was answering).

Reported per class and mode: seconds from the first join to the last
`completed`; the display bound (per-student: rounds·N / (codes per frame ×
frames per second), every code shown once per round; shared: the rounds'
minimum spacing plus one frame); the height of each code as a fraction of
the screen (`domain.layout`); how many completed, the refusals (fraud
counters) and the CPU of the server and of this load generator. Written to
bench/results/class_simulation.json (`runs`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from asistencia.client.http import RequestRefused, decoded
from asistencia.client.scanner import Projection
from asistencia.domain.layout import code_height_fraction
from bench.classroom import Student, open_session, professor_token, servers_per_mode, session_fields
from bench.lib import ProcessStats, Server, bench_environment, emit_json, percentile, report

ANSWER_DELAY = (0.3, 1.5)  # seconds from seeing one's code to answering it
MISSED_SIGHTINGS = 0.2  # each frame a phone could have seen, missed with this probability
FIRST_FRAME_TIMEOUT = 30
MODES = ("per_student:1", "per_student:4", "shared")
CLASSES = (300, 40)


async def _glances(frames: AsyncIterator[list[str]]) -> AsyncIterator[list[str]]:
    """The frames a student actually sees: each missed with probability MISSED_SIGHTINGS."""
    async for texts in frames:
        if random.random() >= MISSED_SIGHTINGS:
            yield texts


async def _student(student: Student, http: aiohttp.ClientSession, base_url: str, screen: Projection,
                   join_code: str, started: float) -> tuple[float | None, str | None]:
    """(seconds from the class's first join to this student's `completed`, refusal code)."""
    scanner = student.scanner(http, base_url, answer_delay=lambda: random.uniform(*ANSWER_DELAY))
    try:
        await scanner.join(join_code)
        await scanner.run(_glances(screen.watch(latest=True)))
    except RequestRefused as refused:
        return None, refused.code
    return time.perf_counter() - started, None


async def _fraud(http: aiohttp.ClientSession, base_url: str, session_id: int) -> dict[str, int]:
    async with http.get(f"{base_url}/api/sessions/{session_id}/fraud",
                        headers={"Authorization": f"Bearer {professor_token()}"}) as response:
        return (await decoded(response))["by_code"]


def display_bound(started: dict[str, Any], rounds: int, students: int) -> float:
    """The least projection time the mode needs for the class, from the `project` reply."""
    frames_per_second = 1000 / started["tick_ms"]
    if started.get("mode") == "shared":
        return (rounds - 1) * started["round_gap_seconds"] + 1 / frames_per_second
    return rounds * students / (started["per_frame"] * frames_per_second)


async def run_class(server: Server, students: list[Student], rounds: int, mode: str) -> dict[str, Any]:
    stats, me = server.stats, ProcessStats(os.getpid())
    token = professor_token()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        session = await open_session(http, server.url, token, rounds=rounds, **session_fields(mode))
        async with Projection.open(http, server.url, token, session["id"]) as screen:
            per_frame = screen.started["per_frame"]
            bound = display_bound(screen.started, rounds, len(students))
            async with asyncio.timeout(FIRST_FRAME_TIMEOUT):
                while not screen.frames:
                    await asyncio.sleep(0.05)
            frames_before, cpu_before, mine_before = screen.frames, stats.cpu_seconds(), me.cpu_seconds()
            started = time.perf_counter()
            tasks = [asyncio.create_task(_student(student, http, server.url, screen, session["join_code"], started))
                     for student in students]
            # Bounded: a class not finished in three times its bound (plus a minute) is reported as is.
            done, pending = await asyncio.wait(tasks, timeout=3 * bound + 60)
            for task in pending:
                task.cancel()
            elapsed = time.perf_counter() - started
            cpu, mine = stats.cpu_seconds() - cpu_before, me.cpu_seconds() - mine_before
            frames = screen.frames - frames_before
        refusals = await _fraud(http, server.url, session["id"])
    outcomes = [task.result() for task in done]
    times = [t for t, _ in outcomes if t is not None]
    failed: dict[str, int] = {}
    for _, code in outcomes:
        if code is not None:
            failed[code] = failed.get(code, 0) + 1
    last = max(times, default=float("nan")) if not pending else elapsed
    return {"students": len(students), "rounds": rounds, "mode": mode, "completed": len(times),
            "seconds_to_last_completed": round(last, 2), "display_bound_seconds": round(bound, 2),
            "min_code_height_fraction": code_height_fraction(per_frame),
            "missed_sightings_fraction": MISSED_SIGHTINGS,
            "per_frame": per_frame, "tick_ms": screen.started["tick_ms"],
            "ratio_to_bound": round(last / bound, 2), "failed": failed, "unfinished": len(pending),
            "refusals": refusals, "frames": frames,
            "completion_seconds": {"p50": round(percentile(times, 50), 2), "p90": round(percentile(times, 90), 2)},
            "server_cpu_fraction": round(cpu / elapsed, 3), "client_cpu_fraction": round(mine / elapsed, 3)}


def _rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    done = figures["completion_seconds"]
    return [
        ("first join → last completed", f"{figures['seconds_to_last_completed']:.1f} s "
                                        f"({figures['ratio_to_bound']:.2f}× the display bound "
                                        f"{figures['display_bound_seconds']:.1f} s)"),
        ("per student, join → completed", f"p50 {done['p50']:.1f} s, p90 {done['p90']:.1f} s"),
        ("code height / screen height", f"{figures['min_code_height_fraction']:.2f} "
                                        f"({figures['per_frame']} per frame)"),
        ("completed / failed / unfinished", f"{figures['completed']} / {sum(figures['failed'].values())} "
                                            f"{figures['failed'] or ''} / {figures['unfinished']}"),
        ("server refusals (fraud counters)", str(figures["refusals"] or "none")),
        ("frames shown", str(figures["frames"])),
        ("CPU (fraction of a core)", f"server {figures['server_cpu_fraction'] * 100:.0f}%, "
                                     f"load generator {figures['client_cpu_fraction'] * 100:.0f}%"),
    ]


def _table(runs: list[dict[str, Any]]) -> None:
    print("\n| mode | students | completed | last completed (s) | display bound (s) | code height | missed |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        print(f"| {run['mode']} | {run['students']} | {run['completed']} | {run['seconds_to_last_completed']:.1f} | "
              f"{run['display_bound_seconds']:.1f} | {run['min_code_height_fraction']:.2f} | "
              f"{run['missed_sightings_fraction']:.0%} |")


async def main(classes: list[int], modes: list[str], rounds: int) -> None:
    runs = []
    with bench_environment() as env:
        async for mode, server, students in servers_per_mode(env, modes, max(classes)):
            for size in classes:
                figures = await run_class(server, students[:size], rounds, mode)
                runs.append(figures)
                report(f"Class simulation: {size} students, {rounds} rounds, mode {mode}", _rows(figures))
    _table(runs)
    emit_json("class_simulation", {"runs": runs})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=list(CLASSES))
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.classes, args.modes, args.rounds))
