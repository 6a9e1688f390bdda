"""The event loop the server runs on: asyncio's own, or uvloop when `EVENT_LOOP=uvloop`.

uvloop (libuv under the asyncio API) was measured on the scan path and did
not pay here: server CPU per scan within the noise of asyncio's loop, and
about 1 KB more per idle socket (bench/README.md, "Accelerators"). It stays
an option, off by default; the server refuses to start with it asked for
and not installed.
"""

from __future__ import annotations

import asyncio

CHOICES = ("asyncio", "uvloop")


def uvloop_installed() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def new_event_loop(choice: str) -> asyncio.AbstractEventLoop:
    if choice == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
