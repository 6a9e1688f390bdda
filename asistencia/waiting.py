"""Bounded waiting for a dependency at startup, logging what we wait for."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class DependencyUnavailable(RuntimeError):
    """A dependency did not become reachable within the startup wait."""


async def wait_until_ready(name: str, where: str, attempt: Callable[[], Awaitable[T]],
                           wait_seconds: float, retry_on: tuple[type[BaseException], ...],
                           permanent: Callable[[BaseException], bool] = lambda exc: False) -> T:
    """`permanent(exc)`: a refusal that waiting cannot cure (no such database, a refused role),
    reported at once."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.2
    while True:
        try:
            return await asyncio.wait_for(attempt(), timeout=max(1.0, min(10.0, wait_seconds)))
        except (*retry_on, asyncio.TimeoutError) as exc:
            remaining = deadline - time.monotonic()
            reason = str(exc).strip() or type(exc).__name__
            if permanent(exc):
                raise DependencyUnavailable(f"{name} at {where} refuses the connection: {reason}") from exc
            if remaining <= 0:
                raise DependencyUnavailable(
                    f"{name} at {where} is not reachable after waiting {wait_seconds:.0f}s: {reason}"
                ) from exc
            log.warning("waiting for %s", name, extra={"dependency": name, "at": where,
                                                     "reason": reason, "retry_in_s": round(delay, 1)})
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 3.0)
