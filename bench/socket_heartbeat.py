"""What the server's WebSocket heartbeat costs: server CPU for N idle, authenticated sockets.

    .venv/bin/python -m bench.socket_heartbeat [--sockets 300] [--seconds 20]

Three runs of the app, each with N sockets that read everything (so they answer
pings, as any WebSocket library does) and measured over the same window:

- heartbeat 20 s, clients that send nothing (the fixed value before: the baseline);
- heartbeat 3 s (SOCKET_HEARTBEAT_SECONDS' default), clients that send nothing
  (asistencia/client/scanner.py's projector, a dashboard script): a ping frame
  every 3 s for each;
- heartbeat 3 s, clients that send the application `ping` every 1.5 s, as the
  pages do (liveness.js): the server never pings them, each of their pings is
  a command (rate limit, JSON, reply).

Reported: server CPU in % of a core and µs per socket per second, and each
run's ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random

import aiohttp

from bench import idle_sockets
from bench.lib import Server, bench_environment, emit_json, report
from bench.scan_throughput import SERVER_ENV

PAGE_PING_SECONDS = 1.5
SETTLE_SECONDS = 3.0
RUNS = (
    ("heartbeat 20 s, silent clients (before)", "20", False),
    ("heartbeat 3 s, silent clients", "3", False),
    ("heartbeat 3 s, page clients (ping every 1.5 s)", "3", True),
)


async def _ping(ws: aiohttp.ClientWebSocketResponse) -> None:
    await asyncio.sleep(random.uniform(0, PAGE_PING_SECONDS))  # pages do not ping in step
    for n in itertools.count(1):
        await ws.send_json({"type": "ping", "id": n})
        await asyncio.sleep(PAGE_PING_SECONDS)


async def measure(server: Server, count: int, seconds: float, *, page_pings: bool) -> dict:
    session, sockets, readers = await idle_sockets.open_sockets(server.url.replace("http", "ws") + "/ws", count,
                                                                auth=True)
    pingers = [asyncio.create_task(_ping(ws)) for ws in sockets] if page_pings else []
    await asyncio.sleep(SETTLE_SECONDS)
    before = server.stats.cpu_seconds()
    await asyncio.sleep(seconds)
    cpu = server.stats.cpu_seconds() - before
    alive = sum(not ws.closed for ws in sockets)
    for pinger in pingers:
        pinger.cancel()
    await asyncio.gather(*pingers, return_exceptions=True)
    await idle_sockets.close(session, sockets, readers)
    return {"sockets": count, "alive": alive, "seconds": seconds, "cpu_fraction": cpu / seconds,
            "us_per_socket_second": cpu / seconds / count * 1e6}


async def main(count: int, seconds: float) -> None:
    results = {}
    with bench_environment() as env:
        for name, heartbeat, page_pings in RUNS:
            with Server({**env, **SERVER_ENV, "SOCKET_HEARTBEAT_SECONDS": heartbeat}) as app:
                results[name] = await measure(app, count, seconds, page_pings=page_pings)
    base = results[RUNS[0][0]]["cpu_fraction"]
    rows = [(name, f"{r['alive']}/{r['sockets']} open, CPU {r['cpu_fraction'] * 100:.2f}% of a core, "
                   f"{r['us_per_socket_second']:.1f} µs/socket/s, ×{r['cpu_fraction'] / base:.2f} of the baseline")
            for name, r in results.items()]
    report(f"WebSocket heartbeat cost, {count} idle sockets, {seconds:.0f} s", rows)
    emit_json("socket_heartbeat", results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sockets, arguments.seconds))
