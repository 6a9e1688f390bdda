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


async def _auto_close(app: web.Application) -> None:
    interval = app[CONFIG].auto_close_interval_seconds
    while True:
        try:
            await sessions.close_due(app)
        except Exception:
            # A dependency hiccup must not end the loop: the next round retries.
            log.exception("auto-close round failed; retrying")
        await asyncio.sleep(interval)


async def auto_close_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_auto_close(app), name="auto-close")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
