"""Frame clocks: one tick per class session per process, fanned out to its local projectors.

A projector screen does not tick by itself. The first screen of a session in
this process starts the session's clock; the clock runs one tick of the
shared rotation per slot (`projection.next_frame`, one Lua call) and hands
the frame to every screen of that session in this process, in one pass; the
last screen to leave stops it. However many screens a process holds, Valkey
sees one tick per session per slot from it, and every screen gets the frame
at the same moment. Frames are due well inside a slot on Valkey's clock, at a
point of the slot that depends on the session (so many sessions' frames are
not all written at one instant), and fetched a quarter tick earlier (so
Valkey's latency does not delay them); the clocks of one session on several
processes share one frame per slot (lua/tick.lua caches it) even with some
scheduling jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from asistencia.appkeys import CONFIG
from asistencia.attendance import projection
from asistencia.domain.projection import next_deadline, slot_point, to_slot_point
from asistencia.store.qr_pool import Frame

log = logging.getLogger(__name__)

# A slot's frame is fetched this fraction of a tick before it is due on the
# screens (still inside the slot: see domain.projection.SLOT_POINTS).
FETCH_AHEAD = 0.25

# Called with each frame and the session's time left (ms); 0 means the session
# is over: the frame is the last one, and the clock stops after it.
FrameListener = Callable[[Frame, int], None]
# Called if the clock fails (a bug, not Valkey being away: ticks survive that);
# its screens get no more frames from it and should be told.
LostListener = Callable[[], None]


class FrameClock:
    def __init__(self, app: web.Application, session: dict[str, Any],
                 on_stopped: Callable[[FrameClock], None]) -> None:
        self.app = app
        self.session = session
        self._listeners: dict[FrameListener, LostListener] = {}
        self._on_stopped = on_stopped
        self._stopped = False
        self._task = asyncio.create_task(self._run(), name=f"frame-clock-{session['id']}")

    def add(self, listener: FrameListener, lost: LostListener) -> Callable[[], None]:
        """Deliver frames to `listener` from the next tick on (`lost()` if the clock fails);
        returns its removal."""
        self._listeners[listener] = lost

        def remove() -> None:
            self._listeners.pop(listener, None)
            if not self._listeners:
                self.stop()

        return remove

    def stop(self) -> None:
        self._on_stopped(self)
        # redis-py may turn a cancellation mid-call into a ConnectionError, which a
        # tick survives: the flag ends the loop all the same.
        self._stopped = True
        self._task.cancel()

    async def wait_stopped(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        """A tick per slot on a fixed grid of absolute deadlines (no drift), until the session ends."""
        try:
            await self._tick_until_the_end()
        except Exception:
            # Its screens are told before the clock counts as stopped, so that whoever sees it
            # stopped also sees them told (and the next screen starts a new clock).
            log.exception("frame clock failed", extra={"session_id": self.session["id"]})
            for lost in list(self._listeners.values()):
                lost()
        finally:
            self._on_stopped(self)

    async def _tick_until_the_end(self) -> None:
        tick_ms = self.app[CONFIG].qr_tick_ms
        period = tick_ms / 1000
        ends_at_ms = int(self.session["ends_at"].timestamp() * 1000)
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        fastest = math.inf  # the quickest tick so far: the closest reading of Valkey's clock
        point = slot_point(self.session["id"])
        last_slot = None
        while not self._stopped:
            asked = loop.time()
            frame = await self._tick()
            answered = loop.time()
            # A tick that lands in the slot already shown has nothing new.
            if frame is not None and frame.now_ms // tick_ms != last_slot:
                if answered - asked < fastest:
                    # Valkey read its clock about halfway through the call: put the grid on the session's point.
                    fastest = answered - asked
                    deadline = (asked + answered) / 2 + to_slot_point(frame.now_ms, tick_ms, point)
                # Fetched ahead of time: screens get it on the grid whatever Valkey's latency was.
                await asyncio.sleep(deadline - loop.time())
                last_slot = frame.now_ms // tick_ms
                time_left_ms = max(0, ends_at_ms - frame.now_ms)
                self._deliver(frame, time_left_ms)
                if not time_left_ms:
                    return  # the timer closes the session within its interval; `closed` follows
                if frame.stale or frame.decoys_needed:
                    await self._replenish(frame)
            deadline = next_deadline(deadline, loop.time(), period)
            await asyncio.sleep(deadline - period * FETCH_AHEAD - loop.time())

    def _deliver(self, frame: Frame, time_left_ms: int) -> None:
        for listener in list(self._listeners):
            listener(frame, time_left_ms)

    async def _tick(self) -> Frame | None:
        try:
            return await projection.next_frame(self.app, self.session)
        except RedisError:
            log.warning("frame clock tick failed (Valkey)", extra={"session_id": self.session["id"]})
            return None

    async def _replenish(self, frame: Frame) -> None:
        """After the frame is out: new codes for stale ones, decoys where the pool is short."""
        try:
            await projection.reissue(self.app, self.session, frame.stale)
            if frame.decoys_needed:
                await projection.add_decoys(self.app, self.session, frame.decoys_needed)
        except RedisError:
            # Still stale or short on a later tick: whichever process ticks then tries again.
            log.warning("could not replenish the QR pool", extra={"session_id": self.session["id"]})


class FrameClocks:
    """This process's running frame clocks, one per session with a screen here."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._clocks: dict[int, FrameClock] = {}

    def follow(self, session: dict[str, Any], listener: FrameListener, lost: LostListener) -> Callable[[], None]:
        """Deliver the session's frames to `listener` (and `lost()` if its clock fails), starting
        the clock if needed; returns the undo."""
        clock = self._clocks.get(session["id"])
        if clock is None:
            clock = self._clocks[session["id"]] = FrameClock(self.app, session, self._forget)
        return clock.add(listener, lost)

    def running(self) -> int:
        return len(self._clocks)

    def _forget(self, clock: FrameClock) -> None:
        if self._clocks.get(clock.session["id"]) is clock:
            del self._clocks[clock.session["id"]]

    async def aclose(self) -> None:
        clocks = list(self._clocks.values())
        for clock in clocks:
            clock.stop()
        for clock in clocks:
            await clock.wait_stopped()


FRAME_CLOCKS = web.AppKey("frame_clocks", FrameClocks)


async def frame_clocks_ctx(app: web.Application) -> AsyncIterator[None]:
    app[FRAME_CLOCKS] = FrameClocks(app)
    yield
    await app[FRAME_CLOCKS].aclose()
