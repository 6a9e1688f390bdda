"""Scan validation throughput and latency on one server process, against a bare aiohttp endpoint.

    .venv/bin/python -m bench.scan_throughput [--students 400] [--scans 1600] [--clients 50,200] [--paced-period 1]

Setup (not timed): READY students (real passkey enrollment and device login
over HTTP), class sessions of 3 rounds that every student joins, and every
student's round-1 QR projected by a real projector socket (the tick Lua
script stamps the projection), the texts picked out of the frames the way
phones do, by trying each student's key. The projectors are closed before
anything is timed.

Timed, per concurrency level (fresh sessions and QRs each): C closed-loop
clients POST scans of projected QRs with real proofs (sealed right before
sending) to `/api/attendance/scan`; every reply is checked and counted. The
baseline is the same client code sending the same bodies, at the same
concurrency, to a bare aiohttp JSON endpoint (`bench/baseline_server.py`).
Printed: req/s of both and their ratio, p50/p99/max latency, server CPU per
request, approximate Valkey commands per scan. Target: ≥ 20% of the bare
endpoint's req/s with p99 < 50 ms at 200 clients. A closed loop's mean
latency is clients ÷ req/s (Little's law), so latency is also measured at a
paced load below capacity: 200 clients each scanning once a second.

PostgreSQL and Valkey run on this machine too: their CPU per scan (all
their processes, whoever they serve: approximate) is printed beside the
server's, since on these 2 cores every millisecond of it is one the server
does not get.

Then the cost of one scan against the size of the class: the same 300
scans (round 1 and round 2 of 150 students, a fixed 20 clients) in
sessions whose live pool holds 10 QRs and in sessions holding 300; server
CPU and Valkey commands per scan should not grow with the pool.

The load generator runs in this process on the same (2-core) machine, so it
competes with the server for CPU: the figures are lower bounds, and the
ratio is what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as redis

from asistencia.client.http import RequestRefused
from asistencia.client.scanner import Projection, Scanner
from asistencia.domain.projection_modes import PER_STUDENT
from asistencia.domain.qr_payload import QrPayload
from asistencia.domain.rounds import MAX_ROUNDS
from bench import lib
from bench.classroom import Student, open_session, professor_token, ready_students
from bench.lib import Server, bench_environment, drive, emit_json, percentile, process_cpu, report

ROUNDS = 3
JOIN_CONCURRENCY = 25
JOIN_ATTEMPTS = 5
BASELINE_SECONDS = 5.0
PACED_SECONDS = 5.0
PHASE_TIMEOUT = 60.0
# A request's bound: generous, since other work on a shared machine can stall setup for long.
SETUP_TIMEOUT = 120.0
PROJECTION_TIMEOUT = 60.0
COST_CLIENTS = 20
SMALL_POOL, LARGE_POOL = 10, 300
# Projection only prepares the timed phase: the fastest rotation the config allows.
SERVER_ENV = {"QR_WINDOW_SECONDS": "600", "COUNTDOWN_SECONDS": "0", "QR_PER_FRAME": "16", "QR_TICK_MS": "50",
              "LOG_LEVEL": "WARNING",
              # The bench's students join, scan and project far more than a class does: the limits
              # are still checked on every request (a Valkey counter each), they just never bite.
              "LIMIT_JOINS_PER_MINUTE": "100000", "LIMIT_SCANS_PER_MINUTE": "100000",
              "LIMIT_SOCKET_CONNECTS_PER_MINUTE": "100000", "LIMIT_SOCKET_MESSAGES_PER_MINUTE": "1000000",
              # Every socket of a bench comes from 127.0.0.1: a whole campus behind one address.
              "SOCKETS_PER_ADDRESS": "1000000", "SOCKETS_PER_USER": "10000"}
# A supply of scans comes in sessions of this many students, set up this many at a time.
SUPPLY_CLASS_SIZE = 100
SUPPLY_CONCURRENCY = 4
# Sessions of a ScanSupply: a join serves up to SUPPLY_ROUNDS - 1 scans.
SUPPLY_ROUNDS = MAX_ROUNDS


@dataclasses.dataclass(frozen=True)
class ScanJob:
    """One projected QR and the phone (a joined reference scanner) that will answer it."""

    scanner: Scanner
    text: str
    payload: QrPayload

    def body(self) -> bytes:
        """The scan body with a fresh proof (client time of now), as a phone builds it."""
        return json.dumps({"session": self.scanner.session_id, "qr": self.text,
                           "proof": self.scanner.proof_for(self.payload)}).encode()


@dataclasses.dataclass
class Phase(lib.Phase):
    """A phase of scans (or of the baseline) with what Valkey and the services spent meanwhile."""

    valkey_commands: int = 0
    valkey_usec: int = 0
    valkey_calls: dict[str, int] = dataclasses.field(default_factory=dict)  # by command name
    services_cpu: dict[str, float] = dataclasses.field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        return {**super().figures(),
                "valkey_commands_per_request": self.valkey_commands / self.requests,
                "valkey_usec_per_request": self.valkey_usec / self.requests,
                "valkey_calls_per_request": {name: n / self.requests for name, n in sorted(self.valkey_calls.items())},
                **{f"{name}_cpu_ms_per_request": seconds / self.requests * 1000
                   for name, seconds in self.services_cpu.items()}}


def service_cpu_seconds() -> dict[int, tuple[str, float]]:
    """pid -> (service, CPU seconds) of every PostgreSQL and Valkey process on this machine."""
    services = {"postgres": "postgres", "redis-server": "valkey", "valkey-server": "valkey"}
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, seconds = process_cpu(int(stat.parent.name))
        except OSError:
            continue  # it ended meanwhile
        if name in services:
            found[int(stat.parent.name)] = (services[name], seconds)
    return found


def service_cpu_delta(before: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each service used since `before`, whoever it worked for (processes that
    ended meanwhile are not counted)."""
    totals = {"postgres": 0.0, "valkey": 0.0}
    for pid, (service, seconds) in service_cpu_seconds().items():
        totals[service] += seconds - before.get(pid, (service, 0.0))[1]
    return totals


class ValkeyCounters:
    """Commands processed by the whole Valkey (Lua's inner calls included) and their µs.

    Other clients of the same Valkey count too: deltas are approximate, unless
    the Valkey is the run's own (`bench_environment(private_valkey=True)`).
    """

    def __init__(self, url: str) -> None:
        self.client = redis.from_url(url)
        self.calls: dict[str, int] = {}

    async def read(self) -> tuple[int, int]:
        """(commands, µs) so far; `calls` holds the commands so far by name."""
        stats = await self.client.info("stats")
        commands = await self.client.info("commandstats")
        self.calls = {name.removeprefix("cmdstat_"): entry["calls"] for name, entry in commands.items()}
        return stats["total_commands_processed"], sum(entry["usec"] for entry in commands.values())


async def project(http: aiohttp.ClientSession, base_url: str, session_id: int, scanners: list[Scanner],
                  round_: int) -> list[ScanJob]:
    """Run a projector until each of `scanners` has seen its QR for `round_`; their scan jobs."""
    waiting = set(scanners)
    jobs: list[ScanJob] = []
    seen: set[str] = set()
    async with Projection.open(http, base_url, professor_token(), session_id) as screen:
        async with asyncio.timeout(PROJECTION_TIMEOUT):
            async for texts in screen.watch():
                for text in set(texts) - seen:
                    seen.add(text)
                    # Tried with every waiting phone's key, as phones do (decoys open for none).
                    for scanner in waiting:
                        payload = scanner.open(text, round_)
                        if payload is not None:
                            jobs.append(ScanJob(scanner, text, payload))
                            waiting.discard(scanner)
                            break
                if not waiting:
                    break
    return jobs


async def join_all(http: aiohttp.ClientSession, base_url: str, code: str, students: list[Student]) -> list[Scanner]:
    """Every student's phone joined to the session with `code`."""
    limit = asyncio.Semaphore(JOIN_CONCURRENCY)

    async def one(student: Student) -> Scanner:
        scanner = student.scanner(http, base_url)
        async with limit:
            for attempt in range(JOIN_ATTEMPTS):
                try:
                    await scanner.join(code)
                    break
                except RequestRefused as refused:
                    # A machine loaded by others can time a dependency out (503): setup, not figures.
                    if refused.status != 503 or attempt == JOIN_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.5 * (attempt + 1))
        return scanner

    return list(await asyncio.gather(*(one(s) for s in students)))


async def classes(http: aiohttp.ClientSession, base_url: str, groups: list[list[Student]],
                  rounds: int = ROUNDS) -> list[tuple[dict, list[Scanner]]]:
    """A per-student session of `rounds` rounds per group, and the group's phones joined to it (the
    mode named: `auto` would pick shared frames once an earlier session of the course was large)."""
    sessions = [await open_session(http, base_url, professor_token(), rounds=rounds, projection_mode=PER_STUDENT)
                for _ in groups]
    return [(session, await join_all(http, base_url, session["join_code"], group))
            for session, group in zip(sessions, groups)]


async def project_all(http: aiohttp.ClientSession, base_url: str, classes_: list[tuple[dict, list[Scanner]]],
                      round_: int, *, only: int | None = None) -> list[ScanJob]:
    """Every class's round-`round_` scan jobs (of its first `only` phones, if given)."""
    jobs = []
    for session, scanners in classes_:
        jobs += await project(http, base_url, session["id"], scanners[:only], round_)
    return jobs


async def supply(http: aiohttp.ClientSession, base_url: str, students: list[Student], count: int,
                 rounds: int = ROUNDS) -> list[ScanJob]:
    """`count` scan jobs of round 1, ready to send: sessions of SUPPLY_CLASS_SIZE students
    (taken in turn from `students`) joined and projected, several at a time."""
    groups, taken = [], 0
    while taken < count:
        size = min(SUPPLY_CLASS_SIZE, len(students), count - taken)
        first = taken % len(students)
        groups.append([students[(first + i) % len(students)] for i in range(size)])
        taken += size
    limit = asyncio.Semaphore(SUPPLY_CONCURRENCY)

    async def one(group: list[Student]) -> list[ScanJob]:
        async with limit:
            [(session, scanners)] = await classes(http, base_url, [group], rounds)
            return await project(http, base_url, session["id"], scanners, 1)

    return [job for jobs in await asyncio.gather(*(one(group) for group in groups)) for job in jobs]


class ScanSupply:
    """Scan jobs for phase after phase, a join serving several of them: sessions of
    SUPPLY_ROUNDS rounds, and once a phase has accepted a phone's scan of round r, its code of
    round r + 1 (live since that scan) is projected for the next phase. The last round is
    never scanned, so every scan measured is a round passed, not a completion (as with fresh
    round-1 codes)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, students: list[Student]) -> None:
        self.http, self.base_url, self.students = http, base_url, students
        self._accepted: list[ScanJob] = []

    def accepted(self, job: ScanJob) -> None:
        """`job`'s scan passed its round: its phone has the next round's code."""
        if job.payload.round < SUPPLY_ROUNDS - 1:
            self._accepted.append(job)

    async def take(self, count: int) -> list[ScanJob]:
        """`count` jobs (more if a session's next round gives more): next rounds first, then new classes."""
        by_session: dict[int, list[ScanJob]] = {}
        for job in self._accepted:
            by_session.setdefault(job.scanner.session_id, []).append(job)
        self._accepted = []
        limit = asyncio.Semaphore(SUPPLY_CONCURRENCY)

        async def next_round(session_id: int, done: list[ScanJob]) -> list[ScanJob]:
            async with limit:
                return await project(self.http, self.base_url, session_id, [job.scanner for job in done],
                                     done[0].payload.round + 1)

        chosen, planned = [], 0
        for session_id, done in by_session.items():
            if planned < count:
                chosen.append(next_round(session_id, done))
                planned += len(done)
        jobs = [job for jobs in await asyncio.gather(*chosen) for job in jobs]
        if len(jobs) < count:
            jobs += await supply(self.http, self.base_url, self.students, count - len(jobs), rounds=SUPPLY_ROUNDS)
        return jobs


async def run_clients(http: aiohttp.ClientSession, url: str, jobs: Iterator[ScanJob], clients: int,
                      server: Server, valkey: ValkeyCounters, *, until: float | None = None,
                      period: float | None = None, accepted: Callable[[ScanJob], None] | None = None) -> Phase:
    """`clients` workers POSTing scan bodies (`lib.drive`); every reply is checked, and a
    scan that passed its round is handed to `accepted`."""
    async def send(job: ScanJob) -> str:
        async with http.post(url, data=job.body(), headers={"Authorization": f"Bearer {job.scanner.token}",
                                                             "Content-Type": "application/json"}) as response:
            outcome = _outcome(response.status, await response.read())
        if accepted is not None and outcome == "partial":
            accepted(job)
        return outcome

    commands, usec = await valkey.read()
    calls = valkey.calls
    services = service_cpu_seconds()
    async with asyncio.timeout(PHASE_TIMEOUT):
        driven = await drive(send, jobs, clients, server, until=until, period=period)
    commands_after, usec_after = await valkey.read()
    by_name = {name: n - calls.get(name, 0) for name, n in valkey.calls.items() if name != "info"}
    # Less the two INFO commands of the first read.
    return Phase(**{field.name: getattr(driven, field.name) for field in dataclasses.fields(lib.Phase)},
                 valkey_commands=commands_after - commands - 2, valkey_usec=usec_after - usec,
                 valkey_calls={name: n for name, n in by_name.items() if n},
                 services_cpu=service_cpu_delta(services))


def _outcome(status: int, reply: bytes) -> str:
    data = json.loads(reply)
    if status == 200:
        return data.get("result", "ok")
    return f"{status} {data.get('error', {}).get('code', '?')}"


def _cycle(jobs: list[ScanJob]) -> Iterator[ScanJob]:
    while True:
        yield from jobs


def _successes(phase: Phase, wanted: Callable[[str], bool]) -> str:
    good = sum(n for outcome, n in phase.outcomes.items() if wanted(outcome))
    refused = {outcome: n for outcome, n in phase.outcomes.items() if not wanted(outcome)}
    return f"{good} succeeded, {sum(refused.values())} refused {refused or ''}".rstrip()


async def throughput(http: aiohttp.ClientSession, app: Server, bare: Server, valkey: ValkeyCounters,
                     students: list[Student], clients: int, scans: int) -> dict[str, Any]:
    joined = await classes(http, app.url, [students] * math.ceil(scans / len(students)))
    jobs = (await project_all(http, app.url, joined, 1))[:scans]
    baseline = await run_clients(http, f"{bare.url}/echo", _cycle(jobs), clients, bare, valkey,
                                 until=time.perf_counter() + BASELINE_SECONDS)
    scan = await run_clients(http, f"{app.url}/api/attendance/scan", iter(jobs), clients, app, valkey)
    ratio = scan.rate / baseline.rate
    services_ms = {name: seconds / scan.requests * 1000 for name, seconds in scan.services_cpu.items()}
    report(f"Scan validation, {clients} concurrent clients, one server process", [
        ("bare aiohttp POST /echo", baseline.line()),
        ("POST /api/attendance/scan", scan.line()),
        ("scan replies", _successes(scan, lambda outcome: outcome == "partial")),
        ("ratio scan / bare req/s", f"{ratio * 100:.1f}% (target ≥ 20%; p99 target < 50 ms at 200 clients)"),
        ("closed loop", f"mean latency ≈ clients ÷ req/s (Little's law): {clients} / {scan.rate:.0f} = "
                        f"{clients / scan.rate * 1000:.0f} ms, whatever the server does per scan"),
        ("Valkey per scan (approx.)", f"{scan.valkey_commands / scan.requests:.1f} commands, "
                                      f"{scan.valkey_usec / scan.requests:.0f} µs"),
        ("services CPU per scan (approx.)", f"PostgreSQL {services_ms['postgres']:.2f} ms, "
                                            f"Valkey {services_ms['valkey']:.2f} ms"),
    ])
    return {"clients": clients, "baseline": baseline.figures(), "scan": scan.figures(), "ratio": ratio}


async def paced(http: aiohttp.ClientSession, app: Server, valkey: ValkeyCounters, students: list[Student],
                clients: int, period: float) -> dict[str, Any]:
    """Latency when the load is fixed below capacity: each client scans once per `period`."""
    count = int(clients * PACED_SECONDS / period)
    joined = await classes(http, app.url, [students] * math.ceil(count / len(students)))
    jobs = (await project_all(http, app.url, joined, 1))[:count]
    phase = await run_clients(http, f"{app.url}/api/attendance/scan", iter(jobs), clients, app, valkey,
                              period=period)
    report(f"Scan latency at a paced load: {clients} clients, each one scan every {period:g} s", [
        ("offered", f"{clients / period:.0f} scans/s"),
        ("POST /api/attendance/scan", phase.line()),
        ("scan replies", _successes(phase, lambda outcome: outcome == "partial")),
    ])
    return {"clients": clients, "period_s": period, "offered_per_s": clients / period, **phase.figures()}


async def pool_cost(http: aiohttp.ClientSession, app: Server, valkey: ValkeyCounters,
                    students: list[Student]) -> dict[str, Any]:
    """The same scans in small-pool and large-pool sessions: per-scan cost should not depend on the pool."""
    scanning = LARGE_POOL // 2
    small = await classes(http, app.url, [students[i:i + SMALL_POOL] for i in range(0, scanning, SMALL_POOL)])
    # Half of the large class only sits there: its QRs keep the pool at LARGE_POOL.
    large = await classes(http, app.url, [students[:LARGE_POOL]])
    phases: dict[str, list[Phase]] = {"small": [], "large": []}
    for round_ in (1, 2):
        for name, joined, only in (("small", small, None), ("large", large, scanning)):
            jobs = await project_all(http, app.url, joined, round_, only=only)
            phases[name].append(await run_clients(http, f"{app.url}/api/attendance/scan", iter(jobs),
                                                  COST_CLIENTS, app, valkey))
    figures = {}
    for name in phases:
        requests = sum(p.requests for p in phases[name])
        figures[name] = {
            "scans": requests,
            "succeeded": sum(n for p in phases[name] for o, n in p.outcomes.items() if o == "partial"),
            "server_cpu_ms_per_scan": sum(p.server_cpu for p in phases[name]) / requests * 1000,
            "valkey_commands_per_scan": sum(p.valkey_commands for p in phases[name]) / requests,
            "valkey_usec_per_scan": sum(p.valkey_usec for p in phases[name]) / requests,
            "p50_ms": percentile([x for p in phases[name] for x in p.latencies], 50) * 1000,
        }
    rows = []
    for name, pool in (("small", SMALL_POOL), ("large", LARGE_POOL)):
        f = figures[name]
        rows.append((f"live pool ~{pool} QRs", f"{f['succeeded']}/{f['scans']} scans succeeded; server CPU "
                                               f"{f['server_cpu_ms_per_scan']:.2f} ms/scan, Valkey "
                                               f"{f['valkey_commands_per_scan']:.1f} commands and "
                                               f"{f['valkey_usec_per_scan']:.0f} µs/scan, p50 {f['p50_ms']:.1f} ms"))
    ratios = {key: figures["large"][key] / figures["small"][key]
              for key in ("server_cpu_ms_per_scan", "valkey_commands_per_scan", "valkey_usec_per_scan")}
    rows.append((f"ratio pool {LARGE_POOL} / pool {SMALL_POOL}",
                 f"CPU {ratios['server_cpu_ms_per_scan']:.2f}×, Valkey commands "
                 f"{ratios['valkey_commands_per_scan']:.2f}×, Valkey µs {ratios['valkey_usec_per_scan']:.2f}× "
                 f"(Valkey figures are whole-server deltas: approximate)"))
    report(f"Scan cost against class size ({COST_CLIENTS} clients)", rows)
    return {"small_pool": SMALL_POOL, "large_pool": LARGE_POOL, **figures, "ratios": ratios}


async def main(students_count: int, scans: int, levels: list[int], period: float) -> None:
    with bench_environment() as env:
        with Server(env, ["-m", "bench.baseline_server"]) as bare, Server({**env, **SERVER_ENV}) as app:
            valkey = ValkeyCounters(env["VALKEY_URL"])
            connector = aiohttp.TCPConnector(limit=0)
            timeout = aiohttp.ClientTimeout(total=SETUP_TIMEOUT)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
                started = time.perf_counter()
                students = await ready_students(http, app.url, students_count)
                print(f"{len(students)} READY students in {time.perf_counter() - started:.1f} s "
                      f"(load generator and server share this machine's {os.cpu_count()} cores)")
                results = [await throughput(http, app, bare, valkey, students, clients, scans)
                           for clients in levels]
                steady = await paced(http, app, valkey, students, max(levels), period)
                cost = await pool_cost(http, app, valkey, students)
            await valkey.client.aclose()
    emit_json("scan_throughput", {"levels": results, "paced": steady, "pool_cost": cost})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=400)
    parser.add_argument("--scans", type=int, default=1600, help="scans per concurrency level")
    parser.add_argument("--clients", default="50,200", help="concurrency levels, comma-separated")
    parser.add_argument("--paced-period", type=float, default=1.0,
                        help="seconds between a paced client's scans (the most clients of --clients)")
    args = parser.parse_args()
    if args.students < LARGE_POOL:
        parser.error(f"--students must be at least {LARGE_POOL} (the large pool)")
    asyncio.run(main(args.students, args.scans, [int(c) for c in args.clients.split(",")], args.paced_period))
