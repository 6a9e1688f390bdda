"""A JWT-protected `GET /api/me` against a bare aiohttp JSON endpoint, closed loop.

    .venv/bin/python -m bench.me_throughput [--clients 50] [--seconds 10] [--requests 10000] [--repeats 3]

C closed-loop clients GET `/api/me` with the bearer tokens of 400 students
(each request the next token in turn, as many phones would send them); the
baseline is the same client code against `GET /me` of the bare server
(`bench/baseline_server.py`), which answers the same JSON without a token.
Each phase runs for `--seconds` or `--requests`, whichever comes first;
per repetition: req/s of both and their ratio, and the server CPU per
request of both. Target: ≥ 0.6× the bare endpoint's req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from typing import Any

import aiohttp

from bench.classroom import FIRST_STUDENT_ID, token_for
from bench.lib import (Phase, Server, bench_environment, drive, emit_json, limited, pin_load_generator, report,
                       split_cores, spread)
from bench.scan_throughput import SERVER_ENV, SETUP_TIMEOUT

TOKENS = 400


async def phase(http: aiohttp.ClientSession, server: Server, url: str, tokens: list[str], clients: int,
                seconds: float, requests: int) -> Phase:
    async def send(token: str) -> str:
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            await response.read()
            return str(response.status)

    return await drive(send, limited(itertools.cycle(tokens), requests), clients, server,
                       until=time.perf_counter() + seconds)


async def once(http: aiohttp.ClientSession, app: Server, bare: Server, tokens: list[str], *, clients: int,
               seconds: float, requests: int) -> dict[str, Any]:
    baseline = await phase(http, bare, f"{bare.url}/me", tokens, clients, seconds, requests)
    ours = await phase(http, app, f"{app.url}/api/me", tokens, clients, seconds, requests)
    return {"clients": clients, "baseline": baseline.figures(), "me": ours.figures(),
            "rps_ratio": ours.rate / baseline.rate, "cpu_ratio": ours.server_cpu_ms / baseline.server_cpu_ms,
            "lines": (baseline.line(), ours.line())}


async def measure(app: Server, bare: Server, *, clients: int, seconds: float, requests: int,
                  repeats: int) -> dict[str, Any]:
    tokens = [token_for(FIRST_STUDENT_ID + i, "alumno") for i in range(TOKENS)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=SETUP_TIMEOUT)) as http:
        runs = [await once(http, app, bare, tokens, clients=clients, seconds=seconds, requests=requests)
                for _ in range(repeats)]
    for index, run in enumerate(runs, 1):
        report(f"GET /api/me (JWT) vs bare GET /me, {clients} clients (run {index})", [
            ("bare aiohttp GET /me", run["lines"][0]), ("GET /api/me", run["lines"][1]),
            ("ratio req/s", f"{run['rps_ratio']:.2f} (target ≥ 0.6)"),
            ("ratio server CPU per request", f"{run['cpu_ratio']:.2f}")])
    return {"runs": runs, "me_rps_ratio": spread([run["rps_ratio"] for run in runs]),
            "me_cpu_ratio": spread([run["cpu_ratio"] for run in runs])}


async def main(clients: int, seconds: float, requests: int, repeats: int) -> None:
    pin_load_generator()
    cores, _ = split_cores()
    with bench_environment() as env:
        with Server(env, ["-m", "bench.baseline_server"], cpus=cores) as bare, \
                Server({**env, **SERVER_ENV}, cpus=cores) as app:
            figures = await measure(app, bare, clients=clients, seconds=seconds, requests=requests,
                                    repeats=repeats)
    emit_json("me_throughput", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.seconds, args.requests, args.repeats))
