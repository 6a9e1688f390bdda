"""The baseline: a bare aiohttp JSON endpoint and bare WebSockets (plus /health for the harness).

`/ws` is an idle socket. `/ticking` gets a frame-sized message on a fixed
tick (`BASELINE_TICK_MS`, `BASELINE_FRAME_BYTES`), every socket from one
loop on the same wall-clock grid as the app's projectors (mid-slot), so the
projector fan-out has a baseline with no Valkey and no per-session work.
Benchmarks report the app's figures as ratios to these, measured in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import time
import weakref
from collections.abc import AsyncIterator

from aiohttp import web

TICKING: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("ticking")


async def echo(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response({"ok": True, "n": len(body)})


async def idle_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    async for _ in ws:
        pass
    return ws


async def ticking_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    request.app[TICKING].add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        request.app[TICKING].discard(ws)
    return ws


async def _tick_loop(app: web.Application, tick_ms: int, frame_bytes: int) -> None:
    period = tick_ms / 1000
    filler = "A" * frame_bytes
    seq = 0
    while True:
        # Sleep to the middle of the next wall-clock slot, as the app's projectors tick.
        now = time.time()
        await asyncio.sleep((math.floor(now / period - 0.5) + 1.5) * period - now)
        seq += 1
        text = json.dumps({"type": "frame", "session": 1, "seq": seq, "qrs": [filler], "time_left_ms": 0},
                          separators=(",", ":"))
        for ws in list(app[TICKING]):
            if not ws.closed:
                with contextlib.suppress(ConnectionResetError, RuntimeError):
                    await ws.send_str(text)


async def tick_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_tick_loop(app, int(os.environ.get("BASELINE_TICK_MS", "333")),
                                          int(os.environ.get("BASELINE_FRAME_BYTES", "75"))))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app[TICKING] = weakref.WeakSet()
    app.router.add_post("/echo", echo)
    app.router.add_get("/health", health)
    app.router.add_get("/ws", idle_socket)
    app.router.add_get("/ticking", ticking_socket)
    app.cleanup_ctx.append(tick_ctx)
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None)


if __name__ == "__main__":
    main()
