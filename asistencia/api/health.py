"""GET /health: real dependency checks on every call, each bounded by a short timeout."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from asistencia import __version__
from asistencia.appkeys import CONFIG, PG_POOL, STARTED_AT
from asistencia.db import cursor
from asistencia.jsoncodec import json_response
from asistencia.openapi import documented
from asistencia.valkey import VALKEY


async def _postgres(app: web.Application) -> None:
    async with cursor(app[PG_POOL]) as cur:
        await cur.execute("SELECT 1")
        await cur.fetchone()


async def _valkey(app: web.Application) -> None:
    await app[VALKEY].client.ping()


CHECKS: dict[str, Callable[[web.Application], Awaitable[None]]] = {
    "postgres": _postgres,
    "valkey": _valkey,
}


async def _run(app: web.Application, check: Callable[[web.Application], Awaitable[None]]) -> dict:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(app), timeout=app[CONFIG].health_timeout_seconds)
    except asyncio.TimeoutError:
        outcome = {"ok": False, "error": "timeout"}
    except Exception as exc:  # any failure of the dependency is the answer, not a crash
        outcome = {"ok": False, "error": type(exc).__name__}
    else:
        outcome = {"ok": True}
    outcome["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return outcome


@documented(responses={503: "a dependency failed; the body names it"})
async def health(request: web.Request) -> web.Response:
    """Dependency checks: PostgreSQL and Valkey, for real, each with a short timeout."""
    app = request.app
    results = await asyncio.gather(*(_run(app, check) for check in CHECKS.values()))
    checks = dict(zip(CHECKS, results, strict=True))
    failed = [name for name, result in checks.items() if not result["ok"]]
    body = {
        "status": "fail" if failed else "ok",
        "version": __version__,
        "uptime_seconds": round(time.monotonic() - app[STARTED_AT], 1),
        "pid": os.getpid(),
        "checks": checks,
    }
    if failed:
        body["error"] = {
            "code": "DEPENDENCY_DOWN",
            "message": "; ".join(f"{name}: {checks[name]['error']}" for name in failed),
        }
    return json_response(body, status=503 if failed else 200, headers={"Cache-Control": "no-store"})
