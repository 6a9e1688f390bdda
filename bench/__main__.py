"""Every headline benchmark in one run, three repetitions each: `bench/results/summary.json`.

    .venv/bin/python -m bench [--repeats 3] [--seconds 10] [--requests 10000] [--projectors 500] [--sockets 5000]

The method (bench/README.md, "The all-benchmarks run"):

- one private Valkey for the run (its command counts are this run's alone),
  the machine's PostgreSQL with a throwaway database;
- every server process pinned to one core and this process (the load
  generator) to the other, where there are two (`lib.split_cores`);
- every closed-loop phase runs for `--seconds` or `--requests`, whichever
  comes first; each figure is measured `--repeats` times and reported as
  the median with its range;
- the headline is server CPU per request (the server process's own user +
  system time over the requests it served), against the bare aiohttp
  server (`bench/baseline_server.py`, same event loop and JSON library)
  measured in the same repetition: other processes on the machine slow
  both, but they do not add CPU time to the server process.

Sections, in order: scans at 50 and 200 closed-loop clients (each against
bare `POST /echo`), `GET /api/me` against bare `GET /me` at 50 clients,
cross-process event latency at 200 scans/s, 500 projector sockets (against
bare ticking sockets), idle authenticated sockets (against bare sockets).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from bench import event_latency, idle_sockets, me_throughput, processes, projector_fanout
from bench.classroom import ready_students
from bench.lib import Server, bench_environment, emit_json, pin_load_generator, report, split_cores, spread
from bench.scan_throughput import (SERVER_ENV, SETUP_TIMEOUT, ScanJob, ScanSupply, ValkeyCounters, _cycle,
                                   run_clients)

SECTIONS = ("scans", "me", "processes", "events", "fanout", "idle")
LEVELS = (50, 200)
STUDENTS = 500
EVENT_RATE = 200
FANOUT_SESSIONS = 10
SUMMARY = Path(__file__).parent / "results" / "summary.json"


async def scans(app: Server, bare: Server, valkey: ValkeyCounters, http: aiohttp.ClientSession, students: list,
                *, repeats: int, seconds: float, requests: int) -> list[dict[str, Any]]:
    """Per repetition and level: bare `POST /echo`, then scans, each for `seconds` or `requests`.
    Scans not sent in one phase are the first of the next (their codes stay valid)."""
    left: list[ScanJob] = []
    runs = []
    scan_supply = ScanSupply(http, app.url, students)
    for repeat in range(repeats):
        for clients in LEVELS:
            jobs = left + await scan_supply.take(max(0, requests - len(left)))
            baseline = await run_clients(http, f"{bare.url}/echo", _limited_cycle(jobs, requests), clients, bare,
                                         valkey, until=time.perf_counter() + seconds)
            pending = iter(jobs)
            scan = await run_clients(http, f"{app.url}/api/attendance/scan", pending, clients, app, valkey,
                                     until=time.perf_counter() + seconds, accepted=scan_supply.accepted)
            left = list(pending)
            run = {"repeat": repeat + 1, "clients": clients, "baseline": baseline.figures(), "scan": scan.figures(),
                   "rps_ratio": scan.rate / baseline.rate, "cpu_ratio": scan.server_cpu_ms / baseline.server_cpu_ms,
                   "scan_server_cpu": scan.server_cpu, "scans": scan.requests,
                   "baseline_server_cpu": baseline.server_cpu, "baseline_requests": baseline.requests,
                   "valkey_commands_per_scan": scan.valkey_commands / scan.requests}
            runs.append(run)
            report(f"Scans, {clients} clients (run {repeat + 1})", [
                ("bare POST /echo", baseline.line()), ("POST /api/attendance/scan", scan.line()),
                ("outcomes", str(scan.outcomes)),
                ("ratios", f"req/s {run['rps_ratio']:.3f}, server CPU per request {run['cpu_ratio']:.2f}×"),
                ("Valkey per scan", f"{run['valkey_commands_per_scan']:.1f} commands (private Valkey): " + ", ".join(
                    f"{name} {n:.2f}" for name, n in run["scan"]["valkey_calls_per_request"].items()))])
    return runs


def _limited_cycle(jobs: list[ScanJob], count: int):
    for _, job in zip(range(count), _cycle(jobs)):
        yield job


async def fanout(env: dict[str, str], *, repeats: int, projectors: int, seconds: float) -> list[dict[str, Any]]:
    """Per repetition, fresh servers: `projectors` projector sockets, then as many bare ticking sockets."""
    env = {**env, "BASELINE_TICK_MS": str(projector_fanout.TICK_MS),
           "BASELINE_FRAME_BYTES": str(projector_fanout.FRAME_BYTES),
           "QR_TICK_MS": str(projector_fanout.TICK_MS), "QR_PER_FRAME": "1"}
    cores, _ = split_cores()
    runs = []
    for repeat in range(repeats):
        with Server(env, cpus=cores) as app:
            sessions = await projector_fanout.sessions_of(app, min(FANOUT_SESSIONS, projectors))
            [ours] = await projector_fanout.measure(app, projectors, seconds, sessions=sessions, bare=False)
        with Server(env, ["-m", "bench.baseline_server"], cpus=cores) as baseline:
            [base] = await projector_fanout.measure(baseline, projectors, seconds, sessions=sessions, bare=True)
        runs.append({"repeat": repeat + 1, "asistencia": ours, "baseline": base})
        report(f"Projector fan-out, {projectors} sockets (run {repeat + 1})",
               [("bare", projector_fanout._row(base)), ("asistencia", projector_fanout._row(ours))])
    return runs


async def idle(env: dict[str, str], *, repeats: int, sockets: int) -> list[dict[str, Any]]:
    cores, _ = split_cores()
    runs = []
    for repeat in range(repeats):
        with Server(env, ["-m", "bench.baseline_server"], cpus=cores) as baseline:
            base = await idle_sockets.measure(baseline, "/ws", sockets, auth=False)
        with Server(env, cpus=cores) as app:
            ours = await idle_sockets.measure(app, "/ws", sockets, auth=True)
        runs.append({"repeat": repeat + 1, "asistencia": ours, "baseline": base})
        report(f"Idle sockets, {sockets} (run {repeat + 1})", [
            ("bare", f"{base['alive']}/{sockets} open, {base['bytes_per_socket'] / 1024:.1f} KB/socket"),
            ("asistencia (authenticated)", f"{ours['alive']}/{sockets} open, "
                                           f"{ours['bytes_per_socket'] / 1024:.1f} KB/socket, "
                                           f"idle CPU {ours['idle_cpu_fraction'] * 100:.1f}%")])
    return runs


class SectionClock:
    """Minutes each section took (setup included), for `method.section_minutes`."""

    def __init__(self) -> None:
        self.minutes: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.minutes[name] = round((time.perf_counter() - started) / 60, 2)
            print(f"({name}: {self.minutes[name]:.1f} min)", flush=True)


def _pooled_cpu_ratio(runs: list[dict[str, Any]], repeat: int) -> float:
    """Server CPU per scan over per bare request, both levels of one repetition together."""
    mine = [run for run in runs if run["repeat"] == repeat]
    scan = sum(run["scan_server_cpu"] for run in mine) / sum(run["scans"] for run in mine)
    bare = sum(run["baseline_server_cpu"] for run in mine) / sum(run["baseline_requests"] for run in mine)
    return scan / bare


def summarise(scan_runs: list, me: dict, events: dict, processes_runs: list, fanout_runs: list, idle_runs: list,
              method: dict[str, Any]) -> dict[str, Any]:
    repeats = sorted({run["repeat"] for run in scan_runs})
    figures = {
        "scan_cpu_ratio": spread([_pooled_cpu_ratio(scan_runs, r) for r in repeats]),
        "scan_rps_ratio_50": spread([run["rps_ratio"] for run in scan_runs if run["clients"] == 50]),
        "scan_rps_ratio_200": spread([run["rps_ratio"] for run in scan_runs if run["clients"] == 200]),
        "me_rps_ratio": me["me_rps_ratio"],
        "event_p99_ms": events["event_p99_ms"],
        "fanout_p99_ms": spread([run["asistencia"]["interval_jitter_ms"]["p99"] for run in fanout_runs]),
        "projector_socket_kb": spread([run["asistencia"]["bytes_per_socket"] / 1024 for run in fanout_runs]),
        "idle_socket_kb": spread([run["asistencia"]["bytes_per_socket"] / 1024 for run in idle_runs]),
        "valkey_cmds_per_scan": spread([run["valkey_commands_per_scan"] for run in scan_runs]),
        **processes.figures(processes_runs),
    }
    context = {
        "scan_server_cpu_ms": spread([run["scan"]["server_cpu_ms_per_request"] for run in scan_runs]),
        "bare_echo_server_cpu_ms": spread([run["baseline"]["server_cpu_ms_per_request"] for run in scan_runs]),
        "scan_cpu_ratio_50": spread([run["cpu_ratio"] for run in scan_runs if run["clients"] == 50]),
        "scan_cpu_ratio_200": spread([run["cpu_ratio"] for run in scan_runs if run["clients"] == 200]),
        "scan_rps_50": spread([run["scan"]["req_per_s"] for run in scan_runs if run["clients"] == 50]),
        "scan_rps_200": spread([run["scan"]["req_per_s"] for run in scan_runs if run["clients"] == 200]),
        "bare_echo_rps_50": spread([run["baseline"]["req_per_s"] for run in scan_runs if run["clients"] == 50]),
        "bare_echo_rps_200": spread([run["baseline"]["req_per_s"] for run in scan_runs if run["clients"] == 200]),
        "me_cpu_ratio": me["me_cpu_ratio"],
        "event_reply_to_event_p99_ms": spread([run["reply_to_event_ms"]["p99"] for run in events["runs"]]),
        "event_scan_p99_ms": spread([run["scan_latency_ms"]["p99"] for run in events["runs"]]),
        "fanout_bare_p99_ms": spread([run["baseline"]["interval_jitter_ms"]["p99"] for run in fanout_runs]),
        "fanout_server_cpu_pct": spread([run["asistencia"]["server_cpu_fraction"] * 100 for run in fanout_runs]),
        "projector_bare_socket_kb": spread([run["baseline"]["bytes_per_socket"] / 1024 for run in fanout_runs]),
        "idle_bare_socket_kb": spread([run["baseline"]["bytes_per_socket"] / 1024 for run in idle_runs]),
    }
    return {**{key: round(value["median"], 3) for key, value in figures.items()},
            "ranges": figures, "context": context, "method": method}


def table(summary: dict[str, Any]) -> str:
    """The README's table: median (range) of each key."""
    rows = ["| figure | median | range |", "| --- | --- | --- |"]
    for key, value in summary["ranges"].items():
        rows.append(f"| `{key}` | {value['median']:.3g} | {value['min']:.3g}–{value['max']:.3g} |")
    return "\n".join(rows)


def _write_summary(summary: dict[str, Any]) -> None:
    """Into bench/results/summary.json, keeping what other benchmarks keep there (`fairness`)."""
    SUMMARY.parent.mkdir(exist_ok=True)
    kept = json.loads(SUMMARY.read_text()) if SUMMARY.exists() else {}
    SUMMARY.write_text(json.dumps({**{k: v for k, v in kept.items() if k == "fairness"}, **summary}, indent=2))


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    load_cores = pin_load_generator()
    server_cores, _ = split_cores()
    method = {"repeats": args.repeats, "phase_seconds": args.seconds, "phase_requests": args.requests,
              "server_cores": sorted(server_cores or []), "load_generator_cores": sorted(load_cores or []),
              "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    print(f"server on cores {method['server_cores']}, load generator on {method['load_generator_cores']}; "
          f"load average {method['load_average_at_start'][0]:.1f}", flush=True)
    only = set(args.only or SECTIONS)
    scan_runs, me, events, processes_runs, fanout_runs, idle_runs = [], {}, {}, [], [], []
    clock = SectionClock()
    with bench_environment(private_valkey=True) as env:
        env = {**env, **SERVER_ENV}
        with Server(env, ["-m", "bench.baseline_server"], cpus=server_cores) as bare, \
                Server(env, cpus=server_cores) as app:
            valkey = ValkeyCounters(env["VALKEY_URL"])
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                             timeout=aiohttp.ClientTimeout(total=SETUP_TIMEOUT)) as http:
                with clock("students"):
                    students = await ready_students(http, app.url, STUDENTS)
                if "scans" in only:
                    with clock("scans"):
                        scan_runs = await scans(app, bare, valkey, http, students, repeats=args.repeats,
                                                seconds=args.seconds, requests=args.requests)
            await valkey.client.aclose()
            if "me" in only:
                with clock("me"):
                    me = await me_throughput.measure(app, bare, clients=50, seconds=args.seconds,
                                                     requests=args.requests, repeats=args.repeats)
        if "processes" in only:
            with clock("processes"):
                processes_runs = await processes.measure(env, students, repeats=args.repeats, seconds=args.seconds,
                                                         requests=args.requests)
        if "events" in only:
            with clock("events"):
                events = await event_latency.measure(env, students, rate=EVENT_RATE, seconds=args.seconds,
                                                     repeats=args.repeats)
        if "fanout" in only:
            with clock("fanout"):
                fanout_runs = await fanout(env, repeats=args.repeats, projectors=args.projectors,
                                           seconds=args.seconds)
        if "idle" in only:
            with clock("idle"):
                idle_runs = await idle(env, repeats=args.repeats, sockets=args.sockets)
    method["section_minutes"] = clock.minutes
    method["load_average_at_end"] = os.getloadavg()
    method["minutes"] = (time.perf_counter() - started) / 60
    if only != set(SECTIONS):
        emit_json("partial", {"scans": scan_runs, "me": me, "events": events, "processes": processes_runs,
                              "fanout": fanout_runs, "idle": idle_runs, "method": method})
        print(f"\nsections {sorted(only)} done in {method['minutes']:.1f} min (bench/results/partial.json; "
              "summary.json is written by a run of every section)")
        return
    summary = summarise(scan_runs, me, events, processes_runs, fanout_runs, idle_runs, method)
    emit_json("all", {"scans": scan_runs, "me": me, "events": events, "processes": processes_runs,
                      "fanout": fanout_runs, "idle": idle_runs, "summary": summary})
    _write_summary(summary)
    print(f"\n{table(summary)}\n\n{SUMMARY} written in {method['minutes']:.1f} min "
          f"(load average {statistics.fmean(method['load_average_at_end']):.1f} at the end)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="a phase lasts this long …")
    parser.add_argument("--requests", type=int, default=10_000, help="… or this many requests, whichever is first")
    parser.add_argument("--projectors", type=int, default=500)
    parser.add_argument("--sockets", type=int, default=5000, help="idle sockets per repetition")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections (no summary.json)")
    asyncio.run(main(parser.parse_args()))
