"""Projector fan-out: many projector sockets on one server process at the default tick.

    .venv/bin/python -m bench.projector_fanout [--projectors 500] [--sessions 10] [--seconds 20]

P projector sockets (spread over S class sessions: a room has a screen or
two, a process serves many rooms) authenticate, `project`, count down and
then receive a frame per tick. Over a measured window the client timestamps
every frame on arrival and reports, against the ideal wall-clock grid (the
session's point of each tick slot, `domain.projection.slot_point`, where every
projector of that session ticks):
interval jitter (|time since the socket's previous frame - one tick|)
p50/p99/max, lateness against the grid p50/p99/max (this one also counts
a socket's place in the fan-out of a tick), per tick of a session the
lateness of its first frame (the tick itself) and the spread to its last
(the fan-out),
slots skipped or shown twice, the server's CPU as a
fraction of one core, and its RSS growth per socket. The baseline is the
same number of bare aiohttp sockets in as many groups, each group fed a frame
of the same size on its session's grid by one loop (bench/baseline_server.py),
measured in the same run.
Targets: p99 jitter < 10 ms at <= 25% of a core for 500 projectors.

The client runs in this process (the server is a subprocess) on a minimal
WebSocket protocol that timestamps each message as its bytes arrive and
keeps the raw text (bench/stamped_socket.py); parsing waits until the
window is over. Its own CPU is reported, since on a 2-core
machine its scheduling lag lands in the figures too (for both servers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import time
from collections import defaultdict

import aiohttp

from asistencia.domain.projection import slot_point
from bench.classroom import open_session, professor_token
from bench.lib import ProcessStats, Server, bench_environment, emit_json, percentile, report
from bench.scan_throughput import SERVER_ENV
from bench.stamped_socket import StampedSocket

TICK_MS = 333  # the default QR_TICK_MS; both servers run at it
FRAME_BYTES = 75  # one QR text (QR_PER_FRAME=1)
BATCH = 50
WARMUP_SECONDS = 5.0  # after the countdown: let every socket settle into its grid
OPEN_TIMEOUT = 30


async def _projector(port: int, token: str, session_id: int) -> StampedSocket:
    ws = await StampedSocket.connect("127.0.0.1", port, "/ws")
    ws.send_json({"type": "auth", "token": token})
    auth = await ws.receive_json(0, timeout=OPEN_TIMEOUT)
    if auth.get("type") != "auth_ok":
        raise RuntimeError(f"auth refused: {auth}")
    ws.send_json({"type": "project", "id": 1, "session": session_id})
    reply = await ws.receive_json(1, timeout=OPEN_TIMEOUT)
    if reply.get("type") != "result":
        raise RuntimeError(f"project refused: {reply}")
    return ws


def _frames(arrivals: list[tuple[float, bytes]], start: float, end: float) -> list[float]:
    """Arrival times (s) of the frames inside the window."""
    return [at for at, text in arrivals if start <= at < end and json.loads(text).get("type") == "frame"]


def _grid(times: list[float], tick_ms: int,
          point: float) -> tuple[list[int], list[float], list[float], int, int]:
    """Per frame: its slot, its lateness (s) against the session's point of the slot, and how far
    the interval since the previous frame is from one tick; then slots skipped and slots shown twice."""
    lateness, slots = [], []
    for at in times:
        x = at * 1000 - tick_ms * point  # ideal arrivals fall on multiples of tick_ms
        slot = math.floor((x + tick_ms / 4) / tick_ms)
        lateness.append((x - slot * tick_ms) / 1000)
        slots.append(slot)
    intervals = [abs(b - a - tick_ms / 1000) for a, b, s, t in zip(times, times[1:], slots, slots[1:]) if t == s + 1]
    skipped = sum(max(0, b - a - 1) for a, b in zip(slots, slots[1:]))
    twice = sum(b == a for a, b in zip(slots, slots[1:]))
    return slots, lateness, intervals, skipped, twice


async def measure(server: Server, count: int, seconds: float, *, sessions: list[int], bare: bool,
                  windows: int = 1) -> list[dict]:
    """Socket i follows sessions[i % len(sessions)]: a projector of that session, or (bare) a socket
    of the baseline's group ticking on that session's grid. One figure set per measured window
    (`windows` back to back on the same sockets); RSS per socket is read after the last."""
    stats, me = server.stats, ProcessStats(os.getpid())
    await asyncio.sleep(1.0)
    rss_before = stats.rss_bytes()
    sockets: list[StampedSocket] = []
    spans: list[tuple[float, float, float, float]] = []  # (start, end, server CPU, client CPU)
    try:
        token = professor_token()
        for start in range(0, count, BATCH):
            batch = range(start, min(count, start + BATCH))
            if bare:
                sockets += await asyncio.gather(*(
                    StampedSocket.connect("127.0.0.1", server.port, f"/ticking?group={sessions[i % len(sessions)]}")
                    for i in batch))
            else:
                sockets += await asyncio.gather(*(_projector(server.port, token, sessions[i % len(sessions)])
                                                  for i in batch))
        await asyncio.sleep(WARMUP_SECONDS + (0 if bare else 3))
        for _ in range(windows):
            cpu_before, mine_before, started = stats.cpu_seconds(), me.cpu_seconds(), time.time()
            await asyncio.sleep(seconds)
            spans.append((started, time.time(), stats.cpu_seconds() - cpu_before, me.cpu_seconds() - mine_before))
        rss_after = stats.rss_bytes()
        alive = sum(not ws.closed for ws in sockets)
        warnings = server.warnings_logged()
    finally:
        for ws in sockets:
            ws.close()
    common = {"sockets": count, "alive": alive, "rss_before_mb": rss_before / 2**20,
              "rss_after_mb": rss_after / 2**20, "bytes_per_socket": (rss_after - rss_before) / count,
              "server_warnings": warnings}
    return [{**common, **_window(sockets, sessions, *span)} for span in spans]


def _window(sockets: list[StampedSocket], sessions: list[int], started: float, ended: float, server_cpu: float,
            client_cpu: float) -> dict:
    lateness: list[float] = []
    intervals: list[float] = []
    by_tick: dict[tuple[int, int], list[float]] = defaultdict(list)  # (session, slot) -> lateness
    skipped = twice = frames = 0
    for index, ws in enumerate(sockets):
        times = _frames(ws.messages, started, ended)
        session = sessions[index % len(sessions)]
        slots, late, deviations, s, t = _grid(times, TICK_MS, slot_point(session))
        lateness += late
        intervals += deviations
        for slot, x in zip(slots, late):
            by_tick[session, slot].append(x)
        skipped, twice, frames = skipped + s, twice + t, frames + len(times)
    window = ended - started
    ms = [x * 1000 for x in lateness]
    jitter = [x * 1000 for x in intervals]
    # Per tick of a session: when its first frame arrived (the tick itself), and how long until its last (the fan-out).
    first = [min(xs) * 1000 for xs in by_tick.values()]
    spread = [(max(xs) - min(xs)) * 1000 for xs in by_tick.values()]
    return {"frames": frames, "expected_frames": round(len(sockets) * window * 1000 / TICK_MS),
            "slots_skipped": skipped, "slots_twice": twice,
            "lateness_ms": {"p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": max(ms, default=math.nan),
                            "min": min(ms, default=math.nan)},
            "tick_first_frame_ms": {"p50": percentile(first, 50), "p99": percentile(first, 99)},
            "tick_fanout_spread_ms": {"p50": percentile(spread, 50), "p99": percentile(spread, 99)},
            "interval_jitter_ms": {"p50": percentile(jitter, 50), "p99": percentile(jitter, 99),
                                   "max": max(jitter, default=math.nan)},
            "server_cpu_fraction": server_cpu / window, "client_cpu_fraction": client_cpu / window,
            "window_seconds": window}


async def sessions_of(server: Server, count: int) -> list[int]:
    async with aiohttp.ClientSession() as http:
        token = professor_token()
        # Named, not `auto`: in the all-benchmarks run the course has had big classes by now,
        # and `auto` would project shared frames instead of per-student codes.
        return [(await open_session(http, server.url, token, projection_mode="per_student"))["id"]
                for _ in range(count)]


def _row(figures: dict) -> str:
    late, jitter = figures["lateness_ms"], figures["interval_jitter_ms"]
    first, spread = figures["tick_first_frame_ms"], figures["tick_fanout_spread_ms"]
    return (f"{figures['alive']}/{figures['sockets']} open, {figures['frames']}/{figures['expected_frames']} frames, "
            f"interval jitter p50 {jitter['p50']:.1f} / p99 {jitter['p99']:.1f} / max {jitter['max']:.1f} ms, "
            f"lateness vs grid p50 {late['p50']:.1f} / p99 {late['p99']:.1f} / max {late['max']:.1f} ms "
            f"(min {late['min']:.1f}), per tick: first frame p50 {first['p50']:.1f} / p99 {first['p99']:.1f} ms, "
            f"fan-out spread p50 {spread['p50']:.1f} / p99 {spread['p99']:.1f} ms, "
            f"skipped {figures['slots_skipped']}, twice {figures['slots_twice']}, "
            f"server CPU {figures['server_cpu_fraction'] * 100:.1f}% of a core, "
            f"{figures['bytes_per_socket'] / 1024:.1f} KB/socket "
            f"(client CPU {figures['client_cpu_fraction'] * 100:.1f}%, server warnings {figures['server_warnings']})")


async def main(counts: list[int], session_count: int, seconds: float) -> None:
    results = {}
    with bench_environment() as env:
        env = {**env, **SERVER_ENV, "BASELINE_TICK_MS": str(TICK_MS), "BASELINE_FRAME_BYTES": str(FRAME_BYTES),
               "QR_TICK_MS": str(TICK_MS), "QR_PER_FRAME": "1"}
        for count in counts:
            with Server(env) as app:
                print(f"server pid {app.process.pid} ({count} projectors)", flush=True)
                sessions = await sessions_of(app, min(session_count, count))
                [ours] = await measure(app, count, seconds, sessions=sessions, bare=False)
            with Server(env, ["-m", "bench.baseline_server"]) as baseline:
                [base] = await measure(baseline, count, seconds, sessions=sessions, bare=True)
            results[count] = {"baseline": base, "asistencia": ours}
            report(f"Projector fan-out: {count} sockets, {min(session_count, count)} sessions, "
                   f"tick {TICK_MS} ms, {seconds:.0f} s window",
                   [("bare aiohttp (a loop per group, same grids)", _row(base)),
                    ("asistencia projectors", _row(ours))])
    emit_json("projector_fanout", {"tick_ms": TICK_MS, "sessions": session_count, "runs": results})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projectors", type=int, nargs="+", default=[500])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    asyncio.run(main(args.projectors, args.sessions, args.seconds))
