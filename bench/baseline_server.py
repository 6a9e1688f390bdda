"""The baseline: a bare aiohttp JSON endpoint and a bare WebSocket (plus /health for the harness).

Benchmarks report the app's figures as ratios to this, measured in the same run.
"""

from __future__ import annotations

import os

from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response({"ok": True, "n": len(body)})


async def idle_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    async for _ in ws:
        pass
    return ws


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_get("/health", health)
    app.router.add_get("/ws", idle_socket)
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None)


if __name__ == "__main__":
    main()
