"""Scans on one server process and on two (`asistencia serve --workers 2`, one port with SO_REUSEPORT).

    .venv/bin/python -m bench.processes [--repeats 3] [--seconds 10] [--requests 10000] [--clients 200]

Per repetition, one server with `--workers 1`, then one with `--workers 2`,
each fresh and pinned to the server's cores; C closed-loop clients (this
process, pinned to its own core) scan projected codes (`ScanSupply`: the
same students and sessions through both servers, state shared in
PostgreSQL and Valkey) for `--seconds` or `--requests`, whichever is first.
Figures: the server's CPU per scan, every process of it (the supervising
parent and its workers) counted, and scans/s.

The server gets min(N, cores - 1) cores, at least one: on a 2-core machine
both servers get the same single core, so the figures show what a second
process costs (CPU per scan should stay flat) rather than what a second core
gains; with more cores, two workers get two.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import aiohttp

from bench.classroom import ready_students
from bench.lib import (_ALLOWED_CORES, Server, bench_environment, emit_json, pin_load_generator, report,
                       split_cores, spread)
from bench.scan_throughput import SERVER_ENV, SETUP_TIMEOUT, ScanJob, ScanSupply, ValkeyCounters, run_clients

WORKERS = (1, 2)
CLIENTS = 200


def server_cores(workers: int) -> set[int] | None:
    """`workers` cores when that leaves the load generator one, else the server's usual core(s)."""
    if len(_ALLOWED_CORES) > workers:
        return set(_ALLOWED_CORES[:workers])
    return split_cores()[0]


async def measure(env: dict[str, str], students: list, *, repeats: int, seconds: float, requests: int,
                  clients: int = CLIENTS) -> list[dict[str, Any]]:
    env = {**env, **SERVER_ENV}
    valkey = ValkeyCounters(env["VALKEY_URL"])
    left: list[ScanJob] = []
    runs = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=SETUP_TIMEOUT)) as http:
        scan_supply = ScanSupply(http, "", students)
        for repeat in range(repeats):
            for workers in WORKERS:
                with Server(env, ["-m", "asistencia", "serve", "--workers", str(workers)],
                            cpus=server_cores(workers)) as app:
                    scan_supply.base_url = app.url
                    jobs = left + await scan_supply.take(max(0, requests - len(left)))
                    pending = iter(jobs)
                    scan = await run_clients(http, f"{app.url}/api/attendance/scan", pending, clients, app, valkey,
                                             until=time.perf_counter() + seconds, accepted=scan_supply.accepted)
                    left = list(pending)
                runs.append({"repeat": repeat + 1, "workers": workers, "cores": sorted(server_cores(workers) or []),
                             "scan": scan.figures(), "scans": scan.requests, "server_cpu": scan.server_cpu})
                report(f"Scans on {workers} server process(es), {clients} clients (run {repeat + 1})", [
                    ("server cores", str(sorted(server_cores(workers) or []))),
                    ("POST /api/attendance/scan", scan.line()), ("outcomes", str(scan.outcomes))])
    await valkey.client.aclose()
    return runs


def figures(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """summary.json's keys: server CPU per scan and scans/s, per process count."""
    found = {}
    for workers in WORKERS:
        mine = [run for run in runs if run["workers"] == workers]
        found[f"scan_cpu_per_scan_{workers}proc_ms"] = spread([run["scan"]["server_cpu_ms_per_request"]
                                                               for run in mine])
        found[f"scan_rps_{workers}proc"] = spread([run["scan"]["req_per_s"] for run in mine])
    return found


async def main(args: argparse.Namespace) -> None:
    pin_load_generator()
    with bench_environment(private_valkey=True) as env:
        with Server({**env, **SERVER_ENV}, cpus=split_cores()[0]) as app:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SETUP_TIMEOUT)) as http:
                students = await ready_students(http, app.url, args.students)
        runs = await measure(env, students, repeats=args.repeats, seconds=args.seconds, requests=args.requests,
                             clients=args.clients)
    summary = figures(runs)
    report("Processes (median, range)", [(key, f"{value['median']:.3f} ({value['min']:.3f}–{value['max']:.3f})")
                                         for key, value in summary.items()])
    emit_json("processes", {"runs": runs, "figures": summary})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.processes", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--students", type=int, default=500)
    asyncio.run(main(parser.parse_args()))
