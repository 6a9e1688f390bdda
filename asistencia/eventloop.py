"""The event loop the server runs on: uvloop where it is installed (Linux/macOS), asyncio's otherwise.

uvloop is an optional accelerator (the `fast` extra): the same asyncio API
on libuv, with cheaper sockets and callbacks. `EVENT_LOOP` chooses: `auto`
(uvloop if installed), `uvloop` (refuse to start without it) or `asyncio`.
"""

from __future__ import annotations

import asyncio

CHOICES = ("auto", "uvloop", "asyncio")


def uvloop_installed() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def loop_name(choice: str) -> str:
    """The loop `choice` gives on this machine: 'uvloop' or 'asyncio'."""
    if choice == "asyncio" or (choice == "auto" and not uvloop_installed()):
        return "asyncio"
    return "uvloop"


def new_event_loop(choice: str) -> asyncio.AbstractEventLoop:
    if loop_name(choice) == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
