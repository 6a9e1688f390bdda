"""Cross-process event latency: a scan on server process A until a dashboard on process B has its event.

    .venv/bin/python -m bench.event_latency [--rate 200] [--seconds 10] [--repeats 3]

Two server processes on the same PostgreSQL and Valkey (as behind Apache's
balancer). Students scan on A at a paced rate (200 clients, each one scan
per second: 200 scans/s); a professor's dashboard socket per session
(`watch`) is open on B. Each `round_passed` event is matched to its scan
by (session, student, round), and the bench reports, per repetition:

- scan sent → event on B's socket (what a professor's screen lags a
  phone's tap; it includes the scan's own work on A),
- scan reply on the phone → event on B's socket (negative when the event
  beats the reply: A publishes before it answers),
- the scan's own latency (sent → reply) in the same run.

The dashboard's client timestamps each message as its bytes arrive
(`bench/stamped_socket.py`). Both servers run on the server core, the
load generator on the other (`bench.lib.split_cores`). Target: p99 < 10 ms
for sent → event at 200 scans/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import aiohttp

from bench.classroom import Student, professor_token, ready_students
from bench.lib import Server, bench_environment, drive, emit_json, percentile, pin_load_generator, report, split_cores, spread
from bench.scan_throughput import SERVER_ENV, SETUP_TIMEOUT, ScanJob, _outcome, supply
from bench.stamped_socket import StampedSocket

OPEN_TIMEOUT = 30
SETTLE_SECONDS = 1.0


async def _dashboard(port: int, session_id: int) -> StampedSocket:
    ws = await StampedSocket.connect("127.0.0.1", port, "/ws")
    ws.send_json({"type": "auth", "token": professor_token()})
    auth = await ws.receive_json(0, timeout=OPEN_TIMEOUT)
    if auth.get("type") != "auth_ok":
        raise RuntimeError(f"auth refused: {auth}")
    ws.send_json({"type": "watch", "id": 1, "session": session_id})
    reply = await ws.receive_json(1, timeout=OPEN_TIMEOUT)
    if reply.get("type") != "result":
        raise RuntimeError(f"watch refused: {reply}")
    return ws


async def once(http: aiohttp.ClientSession, a: Server, b: Server, students: list[Student], *, rate: int,
               seconds: float) -> dict[str, Any]:
    """One repetition: fresh sessions, their dashboards on B, paced scans on A."""
    jobs = await supply(http, a.url, students, int(rate * seconds))
    session_ids = sorted({job.scanner.session_id for job in jobs})
    dashboards = [await _dashboard(b.port, session_id) for session_id in session_ids]
    sent: dict[tuple[int, int, int], tuple[float, float]] = {}
    try:
        async def send(job: ScanJob) -> str:
            key = (job.scanner.session_id, job.scanner.student_id, job.payload.round)
            started = time.time()
            async with http.post(f"{a.url}/api/attendance/scan", data=job.body(),
                                 headers={"Authorization": f"Bearer {job.scanner.token}",
                                          "Content-Type": "application/json"}) as response:
                outcome = _outcome(response.status, await response.read())
            sent[key] = (started, time.time())
            return outcome

        phase = await drive(send, iter(jobs), rate, a, period=1.0)
        await asyncio.sleep(SETTLE_SECONDS)
    finally:
        for ws in dashboards:
            ws.close()
    after_send, after_reply = [], []
    for ws in dashboards:
        for at, text in ws.messages:
            message = json.loads(text)
            if message.get("type") != "event" or message["event"] != "round_passed":
                continue
            data = message["data"]
            times = sent.get((data["session"], data["user_id"], data["round"]))
            if times is not None:
                after_send.append((at - times[0]) * 1000)
                after_reply.append((at - times[1]) * 1000)
    return {"scans": phase.requests, "outcomes": phase.outcomes, "offered_per_s": rate,
            "achieved_per_s": phase.rate, "events_matched": len(after_send),
            "sent_to_event_ms": {"p50": percentile(after_send, 50), "p99": percentile(after_send, 99),
                                 "max": max(after_send, default=float("nan"))},
            "reply_to_event_ms": {"p50": percentile(after_reply, 50), "p99": percentile(after_reply, 99)},
            "scan_latency_ms": {"p50": phase.ms(50), "p99": phase.ms(99)},
            "server_a_cpu_ms_per_scan": phase.server_cpu_ms}


def describe(run: dict[str, Any]) -> str:
    event, reply, scan = run["sent_to_event_ms"], run["reply_to_event_ms"], run["scan_latency_ms"]
    return (f"{run['events_matched']}/{run['scans']} events matched at {run['achieved_per_s']:.0f} scans/s; "
            f"sent → event p50 {event['p50']:.1f} / p99 {event['p99']:.1f} / max {event['max']:.1f} ms; "
            f"reply → event p50 {reply['p50']:.1f} / p99 {reply['p99']:.1f} ms; "
            f"scan sent → reply p50 {scan['p50']:.1f} / p99 {scan['p99']:.1f} ms")


async def measure(env: dict[str, str], students: list[Student], *, rate: int, seconds: float,
                  repeats: int) -> dict[str, Any]:
    """`repeats` repetitions on one pair of servers; their runs and the median and range of p99."""
    server_cores, _ = split_cores()
    with Server({**env, **SERVER_ENV}, cpus=server_cores) as a, Server({**env, **SERVER_ENV}, cpus=server_cores) as b:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                         timeout=aiohttp.ClientTimeout(total=SETUP_TIMEOUT)) as http:
            runs = [await once(http, a, b, students, rate=rate, seconds=seconds) for _ in range(repeats)]
    for index, run in enumerate(runs, 1):
        report(f"Cross-process event latency, {rate} scans/s on A, dashboards on B (run {index})",
               [("figures", describe(run))])
    return {"runs": runs, "event_p99_ms": spread([run["sent_to_event_ms"]["p99"] for run in runs])}


async def main(rate: int, seconds: float, repeats: int, students_count: int) -> None:
    pin_load_generator()
    with bench_environment() as env:
        env = {**env, **SERVER_ENV}
        with Server(env, cpus=split_cores()[0]) as setup:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                students = await ready_students(http, setup.url, students_count)
        figures = await measure(env, students, rate=rate, seconds=seconds, repeats=repeats)
    emit_json("event_latency", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200, help="scans per second (one client per scan/s)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--students", type=int, default=400)
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.repeats, args.students))
