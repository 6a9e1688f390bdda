"""Background loops every process runs: closing class sessions past their end.

Every process runs the loop; `sessions.close_due` makes sure each session is
closed exactly once, by whichever process gets to it first, including
sessions that ended while no process was running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from asistencia.appkeys import CONFIG
from asistencia.attendance import sessions

log = logging.getLogger(__name__)


async def _auto_close(app: web.Application, stopping: asyncio.Event) -> None:
    interval = app[CONFIG].auto_close_interval_seconds
    while not stopping.is_set():
        try:
            await sessions.close_due(app)
        except Exception:
            # A dependency hiccup must not end the loop: the next round retries.
            log.exception("auto-close round failed; retrying")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)


async def auto_close_ctx(app: web.Application) -> AsyncIterator[None]:
    stopping = asyncio.Event()
    task = asyncio.create_task(_auto_close(app, stopping), name="auto-close")
    yield
    # Let a close in progress finish (cancelling mid-statement would drop its
    # connection); only a round stuck on a dead dependency is cancelled.
    stopping.set()
    try:
        await asyncio.wait_for(task, app[CONFIG].shutdown_timeout_seconds)
    except asyncio.TimeoutError:
        log.warning("auto-close did not stop in time; cancelled")
