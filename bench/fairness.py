"""Fairness and fraud: % PRESENT for honest phones and for sightings relayed elsewhere.

    .venv/bin/python -m bench.fairness [--per-group 100] [--relayed 40] [--class-size 50] [--at-once 5]
                                       [--modes per_student:1 per_student:4 shared]

Simulated classes on a live server with the real protocol (passkey
enrollment, device login, join, every frame read off a projector socket,
sealed proofs). Each phone misses 20% of the frames it could have seen and
answers the showing it decoded after its own delay (looking at the screen
again afterwards, not at the frames it missed meanwhile):

- honest, fast: 0.10–0.35 s (a phone already aimed at the screen);
- honest, typical: 0.3–1.5 s (being aimed, campus Wi-Fi);
- honest, with a stall: typical, and one round of the three held up a
  further 2–6 s by the network;
- relayed +L: a photo of the screen passed to someone elsewhere, who
  answers L = 0.5, 1, 2, 4 or 8 s later than a fast phone would (the
  hardest case for the rule: the remote phone itself is as fast as it gets).

The groups are mixed in classes of `--class-size` students, `--at-once`
classes at a time (one projector each), for each projection mode: per-student
codes with 1 and 4 per frame (QR_PER_FRAME) and shared frames (docs/protocol.md
§8; a relayed phone there answers the frame L s after its showing). Reported per
group and mode: students, % PRESENT, the spread of the students' median
response time and certainty (from the attendance list); written to
bench/results/fairness.json and bench/results/summary.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import aiohttp

from asistencia.client.http import RequestRefused, decoded
from asistencia.client.scanner import FINAL_REFUSALS, Projection, Scanner
from bench.classroom import Student, open_session, professor_token, servers_per_mode, session_fields
from bench.lib import Server, bench_environment, emit_json, percentile, report

ROUNDS = 3
MISSED_FRAMES = 0.2
FAST = (0.10, 0.35)
TYPICAL = (0.3, 1.5)
STALL = (2.0, 6.0)
RELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
HONEST = ("fast", "typical", "stalled")
CLASS_TIMEOUT = 300


def _groups(per_group: int, relayed: int) -> list[str]:
    return [group for group in HONEST for _ in range(per_group)] + \
        [f"relayed +{relay:g} s" for relay in RELAYS for _ in range(relayed)]


def _group_order(group: str) -> tuple[int, float]:
    return (HONEST.index(group), 0.0) if group in HONEST else (len(HONEST), _relay_seconds(group))


def _relay_seconds(group: str) -> float:
    return float(group.removeprefix("relayed +").removesuffix(" s"))


def _delays(group: str) -> list[float]:
    """Seconds from decoding a showing to sending its answer, one per round."""
    if group == "fast":
        return [random.uniform(*FAST) for _ in range(ROUNDS)]
    if group == "typical":
        return [random.uniform(*TYPICAL) for _ in range(ROUNDS)]
    if group == "stalled":
        delays = [random.uniform(*TYPICAL) for _ in range(ROUNDS)]
        delays[random.randrange(ROUNDS)] += random.uniform(*STALL)
        return delays
    return [_relay_seconds(group) + random.uniform(*FAST) for _ in range(ROUNDS)]


async def _phone(scanner: Scanner, screen: Projection, delays: list[float]) -> str:
    """Answer every round from the frames this phone catches; the final status (or refusal)."""
    async for texts in screen.watch(latest=True):
        if random.random() < MISSED_FRAMES:
            continue
        scanner.see(texts)
        seen = scanner.sighting(scanner.current_round)
        if seen is None:
            continue
        await asyncio.sleep(delays[scanner.current_round - 1])
        try:
            reply = await scanner.answer(seen)
        except RequestRefused as refused:
            if refused.code in FINAL_REFUSALS:
                return refused.code
            continue
        if reply["result"] == "completed":
            return reply["status"]
    return "PROJECTION_ENDED"


async def _class(http: aiohttp.ClientSession, base_url: str, students: list[tuple[Student, str]],
                 mode: str) -> list[dict]:
    token = professor_token()
    session = await open_session(http, base_url, token, rounds=ROUNDS, **session_fields(mode))
    async with Projection.open(http, base_url, token, session["id"]) as screen:
        while not screen.frames:
            await asyncio.sleep(0.05)

        async def one(student: Student, group: str) -> str:
            scanner = student.scanner(http, base_url)
            await scanner.join(session["join_code"])
            return await _phone(scanner, screen, _delays(group))

        tasks = [asyncio.create_task(one(student, group)) for student, group in students]
        done, pending = await asyncio.wait(tasks, timeout=CLASS_TIMEOUT)
        for task in pending:
            task.cancel()
    async with http.get(f"{base_url}/api/sessions/{session['id']}/attendance",
                        headers={"Authorization": f"Bearer {token}"}) as response:
        listed = {row["user_id"]: row for row in (await decoded(response))["students"]}
    results = []
    for (student, group), task in zip(students, tasks, strict=True):
        row = listed.get(student.id, {})
        ended = task.result() if task in done and not task.cancelled() else "UNFINISHED"
        results.append({"group": group, "ended": ended, "status": row.get("computed_status"),
                        "certainty": row.get("certainty"), "rt_ms": row.get("rt_median_ms"),
                        "rt_min_max_ms": [row.get("rt_min_ms"), row.get("rt_max_ms")]})
    return results


def _summary(results: list[dict]) -> dict[str, dict[str, Any]]:
    by_group: dict[str, dict[str, Any]] = {}
    for group in sorted(dict.fromkeys(result["group"] for result in results), key=_group_order):
        mine = [result for result in results if result["group"] == group]
        present = sum(result["status"] == "PRESENT" for result in mine)
        certainty = [result["certainty"] for result in mine if result["certainty"] is not None]
        rt_ms = [float(result["rt_ms"]) for result in mine if result["rt_ms"] is not None]
        by_group[group] = {
            "students": len(mine), "present": present, "present_pct": 100 * present / len(mine),
            "not_completed": sum(result["status"] is None for result in mine),
            "ended": {ended: sum(r["ended"] == ended for r in mine) for ended in {r["ended"] for r in mine}},
            "certainty_p10_p50": [percentile(certainty, 10), percentile(certainty, 50)],
            "median_rt_ms_p10_p50_p90": [percentile(rt_ms, p) for p in (10, 50, 90)],
        }
    return by_group


async def run_mode(server: Server, mode: str, students: list[Student], groups: list[str], class_size: int,
                   at_once: int) -> dict[str, Any]:
    assigned = list(zip(students, groups, strict=True))
    random.shuffle(assigned)
    classes = [assigned[i:i + class_size] for i in range(0, len(assigned), class_size)]
    started = time.perf_counter()
    # One process plays every phone and decrypts every text each of them sees: too many
    # classes at once and its own lag would be counted in the response times.
    limit = asyncio.Semaphore(at_once)

    async def one_class(members: list[tuple[Student, str]]) -> list[dict]:
        async with limit:
            return await _class(http, server.url, members, mode)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        per_class = await asyncio.gather(*(one_class(members) for members in classes))
    results = [result for one in per_class for result in one]
    return {"classes": len(classes), "seconds": time.perf_counter() - started, "groups": _summary(results),
            "students": results}


def _rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for group, one in figures["groups"].items():
        p10, p50 = one["certainty_p10_p50"]
        rt10, rt50, rt90 = one["median_rt_ms_p10_p50_p90"]
        rows.append((group, f"{one['present']}/{one['students']} PRESENT = {one['present_pct']:.1f}%; "
                            f"median response p10/p50/p90 {rt10:.0f}/{rt50:.0f}/{rt90:.0f} ms; "
                            f"certainty p10 {p10:.0f}, p50 {p50:.0f}; not completed {one['not_completed']}"
                            + (f" {one['ended']}" if one["not_completed"] else "")))
    return rows


def _summary_file(runs: list[dict[str, Any]]) -> None:
    """bench/results/summary.json: every benchmark's headline figures, this one's under `fairness`."""
    path = Path(__file__).parent / "results" / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary["fairness"] = {run["mode"]: {group: round(one["present_pct"], 1)
                                                                 for group, one in run["groups"].items()}
                           for run in runs}
    path.write_text(json.dumps(summary, indent=2))


async def main(per_group: int, relayed: int, class_size: int, at_once: int, modes: list[str]) -> None:
    groups = _groups(per_group, relayed)
    runs = []
    with bench_environment() as env:
        async for mode, server, students in servers_per_mode(env, modes, len(groups)):
            figures = {"mode": mode, **await run_mode(server, mode, students, groups, class_size, at_once),
                       "server_warnings": server.warnings_logged()}
            if figures["server_warnings"]:
                print(server.log_tail(4000))
            runs.append(figures)
            report(f"Fairness: {len(groups)} students in {figures['classes']} classes, {at_once} at once, "
                   f"{ROUNDS} rounds, "
                   f"{MISSED_FRAMES:.0%} of frames missed, mode {mode} "
                   f"({figures['seconds']:.0f} s)", _rows(figures))
    emit_json("fairness", {"runs": runs})
    _summary_file(runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-group", type=int, default=100, help="honest students per honest group")
    parser.add_argument("--relayed", type=int, default=40, help="students per relay delay")
    parser.add_argument("--class-size", type=int, default=50)
    parser.add_argument("--at-once", type=int, default=5, help="classes running at the same time")
    parser.add_argument("--modes", nargs="+", default=["per_student:1", "per_student:4", "shared"])
    args = parser.parse_args()
    asyncio.run(main(args.per_group, args.relayed, args.class_size, args.at_once, args.modes))
