"""The baseline: a bare aiohttp JSON endpoint and bare WebSockets (plus /health for the harness).

`/ws` is an idle socket. `/ticking?group=K` gets a frame-sized message on a
fixed tick (`BASELINE_TICK_MS`, `BASELINE_FRAME_BYTES`), every socket of a
group from one loop, on the same wall-clock grid as the app's projectors of
session K (`domain.projection.slot_point`), so the projector fan-out has a
baseline with no Valkey and no per-session work.
Benchmarks report the app's figures as ratios to these, measured in the same run.
It runs on the server's event loop and JSON encoder (`EVENT_LOOP`, `asistencia.jsoncodec`),
so a ratio compares the work per request, not the accelerators.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
import weakref
from collections.abc import AsyncIterator

from aiohttp import web

from asistencia.config import Config
from asistencia.domain.projection import slot_point
from asistencia.eventloop import new_event_loop
from asistencia.jsoncodec import dumps, json_response

# The app's own heartbeat (SOCKET_HEARTBEAT_SECONDS' default): idle sockets cost the same pings in both.
HEARTBEAT_SECONDS = Config().socket_heartbeat_seconds
TICKING: web.AppKey[dict[int, weakref.WeakSet[web.WebSocketResponse]]] = web.AppKey("ticking")
TICK_LOOPS: web.AppKey[list[asyncio.Task]] = web.AppKey("tick_loops")


async def echo(request: web.Request) -> web.Response:
    body = await request.json()
    return json_response({"ok": True, "n": len(body)})


async def me(request: web.Request) -> web.Response:
    """The shape of `GET /api/me`, with no token to check."""
    return json_response({"id": 1000000, "username": "1000000-0", "role": "alumno", "full_name": None})


async def idle_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)
    await ws.prepare(request)
    async for _ in ws:
        pass
    return ws


async def ticking_socket(request: web.Request) -> web.WebSocketResponse:
    group = int(request.query.get("group", "1"))
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)
    await ws.prepare(request)
    sockets = request.app[TICKING].get(group)
    if sockets is None:
        sockets = request.app[TICKING][group] = weakref.WeakSet()
        request.app[TICK_LOOPS].append(asyncio.create_task(_tick_loop(group, sockets)))
    sockets.add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        sockets.discard(ws)
    return ws


async def _tick_loop(group: int, sockets: weakref.WeakSet[web.WebSocketResponse]) -> None:
    tick_ms = int(os.environ.get("BASELINE_TICK_MS", "333"))
    filler = "A" * int(os.environ.get("BASELINE_FRAME_BYTES", "75"))
    period = tick_ms / 1000
    point = slot_point(group)
    slot = seq = 0
    while True:
        # Sleep to the group's point of the next wall-clock slot, as the app's projectors of that
        # session tick; never the same slot twice (a sleep may end a hair early), late ones skipped.
        slot = max(slot + 1, math.floor(time.time() / period - point) + 1)
        await asyncio.sleep((slot + point) * period - time.time())
        seq += 1
        text = dumps({"type": "frame", "session": group, "seq": seq, "qrs": [filler], "time_left_ms": 0})
        for ws in list(sockets):
            if not ws.closed:
                with contextlib.suppress(ConnectionResetError, RuntimeError):
                    await ws.send_str(text)


async def tick_ctx(app: web.Application) -> AsyncIterator[None]:
    app[TICKING] = {}
    app[TICK_LOOPS] = []
    yield
    for task in app[TICK_LOOPS]:
        task.cancel()
    await asyncio.gather(*app[TICK_LOOPS], return_exceptions=True)


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_get("/me", me)
    app.router.add_get("/health", health)
    app.router.add_get("/ws", idle_socket)
    app.router.add_get("/ticking", ticking_socket)
    app.cleanup_ctx.append(tick_ctx)
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None,
                loop=new_event_loop(os.environ.get("EVENT_LOOP", "asyncio")))


if __name__ == "__main__":
    main()
