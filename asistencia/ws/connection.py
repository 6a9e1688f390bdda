"""Per-connection state: the user, a bounded send queue drained by one writer
task, background tasks and subscriptions undone when the socket ends.

Only the endpoint's handler task calls `receive()`; anything may `send()`,
which never blocks: a client that lets its queue fill up is cut off rather
than allowed to stall the sender (a projector tick, the event hub).

A process holds thousands of mostly idle sockets, so an idle one costs
little: the queue is a plain deque and its writer task runs only while
there is something to send; timers are loop callbacks, not sleeping tasks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from asistencia import jsoncodec
from asistencia.tokens import User
from asistencia.ws.const import CLOSE_TOO_SLOW, SEND_QUEUE_SIZE

log = logging.getLogger(__name__)


class CloseSocket(Exception):
    """Raised by a command handler to end the connection with a close code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Connection:
    # Slots, and containers made on first use: thousands of these are alive at once.
    __slots__ = ("app", "ws", "user", "token_expires", "request_id", "remote", "joined_session", "_queue",
                 "_queue_size", "_writer", "_timer", "_tasks", "_cleanups", "_subscriptions", "_closing")

    def __init__(self, app: web.Application, ws: web.WebSocketResponse, user: User, token_expires: float,
                 request_id: str, remote: str | None, queue_size: int = SEND_QUEUE_SIZE) -> None:
        self.app = app
        self.ws = ws
        self.user = user
        self.token_expires = token_expires  # epoch seconds, leeway included
        self.request_id = request_id
        self.remote = remote
        # The class session a student's connection joined last (ws/student.py): what its reports are about.
        self.joined_session: int | None = None
        self._queue: collections.deque[str] | None = None
        self._queue_size = queue_size
        self._writer: asyncio.Task | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] | None = None
        self._cleanups: list[Callable[[], Any]] | None = None
        self._subscriptions: dict[str, Callable[[], None]] | None = None
        self._closing = False

    def send(self, message: dict[str, Any]) -> None:
        if self._closing:
            return
        if self._queue is None:
            self._queue = collections.deque()
        if len(self._queue) >= self._queue_size:
            log.warning("websocket client too slow, cutting it off",
                        extra={"request_id": self.request_id, "user_id": self.user.id})
            self.close_soon(CLOSE_TOO_SLOW, "send queue overflow")
            return
        self._queue.append(jsoncodec.dumps(message))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queued())

    def set_timer(self, delay: float, callback: Callable[[], None]) -> None:
        """Call `callback` in `delay` seconds, unless the socket ends first (one timer: replaces the last)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, callback)

    def token_live(self) -> bool:
        return time.time() < self.token_expires

    def close_soon(self, code: int, reason: str) -> None:
        """Close from any task; the handler's receive loop then ends."""
        if self._closing:
            return
        self._closing = True
        self.start_task(self.ws.close(code=code, message=reason.encode()[:120]))

    def start_task(self, coro: Coroutine) -> asyncio.Task:
        """Run `coro` for the lifetime of this connection; it is cancelled when the socket ends."""
        task = asyncio.create_task(coro)
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("websocket background task failed", exc_info=task.exception(),
                      extra={"request_id": self.request_id})

    def on_close(self, cleanup: Callable[[], Any]) -> None:
        """Register an undo (unsubscribe, release) to run when the connection ends."""
        if self._cleanups is None:
            self._cleanups = []
        self._cleanups.append(cleanup)

    def subscribe(self, name: str, unsubscribe: Callable[[], None]) -> None:
        """Hold a subscription under `name` until replaced, unsubscribed or the socket ends."""
        self.unsubscribe(name)
        if self._subscriptions is None:
            self._subscriptions = {}
        self._subscriptions[name] = unsubscribe

    def unsubscribe(self, name: str) -> None:
        undo = self._subscriptions.pop(name, None) if self._subscriptions else None
        if undo is not None:
            undo()

    def subscribed(self, name: str) -> bool:
        return bool(self._subscriptions) and name in self._subscriptions

    async def _write_queued(self) -> None:
        """Send what is queued, in order, then end (the next `send` starts a new writer)."""
        try:
            while self._queue:
                text = self._queue.popleft()
                if self.ws.closed:
                    self._queue.clear()
                    return
                try:
                    await self.ws.send_str(text)
                except (ConnectionResetError, RuntimeError):
                    self._queue.clear()
                    return
        finally:
            self._writer = None
            if not self._queue:
                self._queue = None  # an idle socket holds no queue

    async def aclose(self) -> None:
        self._closing = True
        for name in list(self._subscriptions or ()):
            self.unsubscribe(name)
        for cleanup in reversed(self._cleanups or ()):
            try:
                result = cleanup()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("websocket cleanup failed", extra={"request_id": self.request_id})
        self._cleanups = None
        if self._timer is not None:
            self._timer.cancel()
        tasks = [*(self._tasks or ()), *([self._writer] if self._writer is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
