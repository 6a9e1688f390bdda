"""How many idle, authenticated WebSockets one server process holds, and what each costs.

    .venv/bin/python -m bench.idle_sockets [--sockets 10000]

Opens N sockets to /ws, authenticates each, waits, and reads the server's RSS
growth per socket; the same N bare aiohttp WebSockets on a bare server are the
baseline. Target: under 30 KB per idle socket. Each socket is read, as any
live client's is: that answers the server's heartbeat pings (an unread one
is dropped as silent, SOCKET_HEARTBEAT_SECONDS).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time

import aiohttp

from asistencia.config import Config
from asistencia.tokens import mint_token
from bench.lib import BENCH_SECRET, Server, bench_environment, emit_json, report
from bench.scan_throughput import SERVER_ENV

BATCH = 100
OPEN_ATTEMPTS = 5


async def _read(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Read (and so answer pings) until the socket ends."""
    async for _ in ws:
        pass


async def open_sockets(url: str, count: int, auth: bool
                       ) -> tuple[aiohttp.ClientSession, list, list[asyncio.Task]]:
    config = Config(jwt_secret=BENCH_SECRET)
    connector = aiohttp.TCPConnector(limit=0)
    session = aiohttp.ClientSession(connector=connector)
    sockets = []

    async def one(i: int):
        token = mint_token(config, user_id=100_000 + i, username=f"s{i}", role="alumno", ttl_seconds=3600)
        for _ in range(OPEN_ATTEMPTS):
            ws = await session.ws_connect(url, heartbeat=None, autoping=True)
            if not auth:
                return ws
            await ws.send_json({"type": "auth", "token": token})
            reply = await ws.receive(timeout=60)
            if reply.type == aiohttp.WSMsgType.TEXT:
                assert json.loads(reply.data)["type"] == "auth_ok", reply.data
                return ws
            # Closed 4408: a server starved by other work on the machine missed the auth deadline.
            await ws.close()
        raise RuntimeError(f"socket {i} could not authenticate in {OPEN_ATTEMPTS} attempts")

    for start in range(0, count, BATCH):
        sockets += await asyncio.gather(*(one(i) for i in range(start, min(count, start + BATCH))))
    return session, sockets, [asyncio.create_task(_read(ws)) for ws in sockets]


async def close(session: aiohttp.ClientSession, sockets: list, readers: list[asyncio.Task]) -> None:
    for ws in sockets:
        await ws.close()
    await asyncio.gather(*readers, return_exceptions=True)
    await session.close()


async def measure(server: Server, path: str, count: int, auth: bool) -> dict:
    stats = server.stats
    await asyncio.sleep(1.0)
    before = stats.rss_bytes()
    started = time.perf_counter()
    session, sockets, readers = await open_sockets(server.url.replace("http", "ws") + path, count, auth)
    open_seconds = time.perf_counter() - started
    await asyncio.sleep(3.0)
    cpu_before = stats.cpu_seconds()
    await asyncio.sleep(5.0)
    idle_cpu = (stats.cpu_seconds() - cpu_before) / 5.0
    after = stats.rss_bytes()
    alive = sum(not ws.closed for ws in sockets)
    await close(session, sockets, readers)
    gc.collect()
    return {"sockets": count, "alive": alive, "rss_before_mb": before / 2**20, "rss_after_mb": after / 2**20,
            "bytes_per_socket": (after - before) / count, "open_seconds": open_seconds,
            "idle_cpu_fraction": idle_cpu}


async def main(count: int) -> None:
    with bench_environment() as env:
        with Server(env, ["-m", "bench.baseline_server"]) as baseline:
            base = await measure(baseline, "/ws", count, auth=False)
        with Server({**env, **SERVER_ENV}) as app:
            ours = await measure(app, "/ws", count, auth=True)
    rows = []
    for name, figures in (("bare aiohttp", base), ("asistencia /ws (authenticated)", ours)):
        rows.append((name, f"{figures['alive']}/{figures['sockets']} open, "
                           f"{figures['bytes_per_socket'] / 1024:.1f} KB/socket, "
                           f"RSS {figures['rss_before_mb']:.0f}→{figures['rss_after_mb']:.0f} MB, "
                           f"idle CPU {figures['idle_cpu_fraction'] * 100:.1f}% of a core, "
                           f"opened in {figures['open_seconds']:.1f} s"))
    rows.append(("ratio (ours / bare) per socket", f"{ours['bytes_per_socket'] / base['bytes_per_socket']:.2f}×"))
    report(f"Idle WebSockets, {count} per process", rows)
    emit_json("idle_sockets", {"baseline": base, "asistencia": ours})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().sockets))
