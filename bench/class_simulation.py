"""A whole class from join to completed, against the bound the projector's display sets.

    .venv/bin/python -m bench.class_simulation [--students 300] [--per-frame 1 4] [--rounds 3]

N READY students (real passkey enrollment and device login; not timed) and,
for each QR_PER_FRAME value, a fresh server process on the same database and
Valkey, a new session and one projector socket at the default tick. Once the
projector shows frames every student's reference scanner joins and scans,
taking a random 0.3–1.5 s (uniform) from seeing its code to answering.

Reported: the time from the first join to the last `completed`; the display
bound rounds·N / (QRs per frame × frames per second), from the `project`
reply's tick_ms and per_frame (every code must be shown once per round, and
a frame shows only so many); their ratio (target: within 1.5× for 300
students); per-student time from joining to completed; how many completed
or failed, the server's refusals by code (its fraud counters); and the CPU
of the server and of this load generator (300 scanners decrypting every
frame share this machine's cores with the server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from typing import Any

import aiohttp

from asistencia.client.http import RequestRefused, decoded
from asistencia.client.scanner import Projection
from bench.classroom import Student, open_session, professor_token, servers_per_frame
from bench.lib import ProcessStats, Server, bench_environment, emit_json, percentile, report

ANSWER_DELAY = (0.3, 1.5)  # seconds from seeing one's code to answering it
FIRST_FRAME_TIMEOUT = 30


async def _student(student: Student, http: aiohttp.ClientSession, base_url: str, screen: Projection,
                   join_code: str, started: float) -> tuple[float | None, str | None]:
    """(seconds from the class's first join to this student's `completed`, refusal code)."""
    scanner = student.scanner(http, base_url, answer_delay=lambda: random.uniform(*ANSWER_DELAY))
    try:
        await scanner.join(join_code)
        await scanner.run(screen.watch())
    except RequestRefused as refused:
        return None, refused.code
    return time.perf_counter() - started, None


async def _fraud(http: aiohttp.ClientSession, base_url: str, session_id: int) -> dict[str, int]:
    async with http.get(f"{base_url}/api/sessions/{session_id}/fraud",
                        headers={"Authorization": f"Bearer {professor_token()}"}) as response:
        return (await decoded(response))["by_code"]


async def run_class(server: Server, students: list[Student], rounds: int) -> dict[str, Any]:
    stats, me = server.stats, ProcessStats(os.getpid())
    token = professor_token()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        session = await open_session(http, server.url, token, rounds=rounds)
        async with Projection.open(http, server.url, token, session["id"]) as screen:
            per_frame, tick_ms = screen.started["per_frame"], screen.started["tick_ms"]
            bound = rounds * len(students) / (per_frame * 1000 / tick_ms)
            async with asyncio.timeout(FIRST_FRAME_TIMEOUT):
                while not screen.frames:
                    await asyncio.sleep(0.05)
            frames_before, cpu_before, mine_before = screen.frames, stats.cpu_seconds(), me.cpu_seconds()
            started = time.perf_counter()
            tasks = [asyncio.create_task(_student(student, http, server.url, screen, session["join_code"], started))
                     for student in students]
            # Bounded: a class that has not finished in three times its bound (plus a minute) is reported as is.
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
    total = max(times, default=float("nan")) if not pending else elapsed
    return {"students": len(students), "rounds": rounds, "per_frame": per_frame, "tick_ms": tick_ms,
            "bound_seconds": bound, "total_seconds": total, "ratio": total / bound,
            "completed": len(times), "failed": failed, "unfinished": len(pending), "refusals": refusals,
            "frames": frames, "completion_seconds": {"p50": percentile(times, 50), "p90": percentile(times, 90),
                                                     "max": max(times, default=float("nan"))},
            "server_cpu_fraction": cpu / elapsed, "client_cpu_fraction": mine / elapsed}


def _rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    done = figures["completion_seconds"]
    return [
        ("display bound", f"{figures['bound_seconds']:.1f} s = {figures['rounds']}·{figures['students']} / "
                          f"({figures['per_frame']} QR/frame × {1000 / figures['tick_ms']:.2f} frames/s)"),
        ("first join → last completed", f"{figures['total_seconds']:.1f} s = {figures['ratio']:.2f}× the bound"),
        ("per student, join → completed", f"p50 {done['p50']:.1f} s, p90 {done['p90']:.1f} s, max {done['max']:.1f} s"),
        ("completed / failed / unfinished", f"{figures['completed']} / {sum(figures['failed'].values())} "
                                            f"{figures['failed'] or ''} / {figures['unfinished']}"),
        ("server refusals (fraud counters)", str(figures["refusals"] or "none")),
        ("frames shown", str(figures["frames"])),
        ("CPU (fraction of a core)", f"server {figures['server_cpu_fraction'] * 100:.0f}%, "
                                     f"load generator {figures['client_cpu_fraction'] * 100:.0f}%"),
    ]


async def main(count: int, per_frame_values: list[int], rounds: int) -> None:
    results = []
    with bench_environment() as env:
        async for per_frame, server, students in servers_per_frame(env, per_frame_values, count):
            figures = await run_class(server, students, rounds)
            results.append(figures)
            report(f"Class simulation: {count} students, {rounds} rounds, QR_PER_FRAME={per_frame}", _rows(figures))
    emit_json(f"class_simulation_{count}", {"runs": results})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--per-frame", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.students, args.per_frame, args.rounds))
