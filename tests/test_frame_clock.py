"""Frame clocks against real Valkey: one tick per session per process, fanned out to every
local screen of the session, started by the first and stopped by the last."""

from __future__ import annotations

import asyncio
import datetime

from asistencia.attendance import projection
from asistencia.attendance.frame_clock import FRAME_CLOCKS


def _session(session_id: int, minutes_left: float = 30) -> dict:
    ends_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes_left)
    return {"id": session_id, "ends_at": ends_at, "projection_mode": "per_student"}


class Screen:
    def __init__(self) -> None:
        self.frames: list[tuple[int, tuple[str, ...], int]] = []  # (slot, texts, time left)
        self.tick_ms = 40
        self.lost = 0

    def __call__(self, frame, time_left_ms: int) -> None:
        self.frames.append((frame.now_ms // self.tick_ms, tuple(frame.texts), time_left_ms))

    def on_lost(self) -> None:
        self.lost += 1


def follow(clocks, session: dict, screen: Screen):
    return clocks.follow(session, screen, screen.on_lost)


async def _until(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_every_screen_of_a_session_gets_each_slots_frame_from_one_clock(make_client, config):
    client = await make_client(config.replace(qr_tick_ms=40, qr_min_pool=4))
    clocks = client.app[FRAME_CLOCKS]
    screens = [Screen() for _ in range(3)]
    leave = [follow(clocks, _session(7), screen) for screen in screens]
    assert clocks.running() == 1
    await _until(lambda: all(len(screen.frames) >= 12 for screen in screens))
    for undo in leave:
        undo()
    assert clocks.running() == 0
    first = screens[0].frames[:12]
    for screen in screens[1:]:
        assert screen.frames[:12] == first
    slots = [slot for slot, _, _ in first]
    assert slots == sorted(set(slots))  # one frame per slot, none twice
    # Decoys are added after the first frames; then the rotation shows each of the four in turn.
    shown = [texts for _, texts, _ in first if texts]
    assert len(set(shown[-4:])) == 4 and all(len(texts) == 1 for texts in shown)
    assert all(0 < left <= 30 * 60 * 1000 for _, _, left in first)


async def test_the_last_screen_leaving_stops_the_clock_and_the_next_starts_a_new_one(make_client, config):
    client = await make_client(config.replace(qr_tick_ms=40, qr_min_pool=2))
    clocks = client.app[FRAME_CLOCKS]
    one, two = Screen(), Screen()
    leave_one = follow(clocks, _session(8), one)
    leave_two = follow(clocks, _session(8), two)
    await _until(lambda: len(two.frames) >= 2)
    leave_one()
    assert clocks.running() == 1
    seen = len(one.frames)
    await _until(lambda: len(two.frames) >= 5)
    assert len(one.frames) == seen
    leave_two()
    assert clocks.running() == 0
    stopped_at = len(two.frames)
    await asyncio.sleep(0.2)
    assert len(two.frames) == stopped_at
    three = Screen()
    leave_three = follow(clocks, _session(8), three)
    await _until(lambda: len(three.frames) >= 2)
    leave_one()  # leaving a stopped clock again changes nothing
    assert clocks.running() == 1
    leave_three()


async def test_sessions_have_clocks_of_their_own(make_client, config):
    client = await make_client(config.replace(qr_tick_ms=40, qr_min_pool=3))
    clocks = client.app[FRAME_CLOCKS]
    screens = {session_id: Screen() for session_id in (21, 22)}
    leave = [follow(clocks, _session(session_id), screen) for session_id, screen in screens.items()]
    assert clocks.running() == 2
    await _until(lambda: all(len(screen.frames) >= 8 for screen in screens.values()))
    texts = [{text for _, shown, _ in screen.frames for text in shown} for screen in screens.values()]
    assert texts[0] and texts[1] and not texts[0] & texts[1]
    for undo in leave:
        undo()


async def test_a_session_past_its_end_gets_one_last_empty_handed_frame_and_the_clock_stops(make_client, config):
    client = await make_client(config.replace(qr_tick_ms=40))
    clocks = client.app[FRAME_CLOCKS]
    screen = Screen()
    follow(clocks, _session(9, minutes_left=-1), screen)
    await _until(lambda: clocks.running() == 0)
    assert [left for _, _, left in screen.frames] == [0]


async def test_shutdown_stops_running_clocks(make_client, config):
    client = await make_client(config.replace(qr_tick_ms=40))
    clocks = client.app[FRAME_CLOCKS]
    follow(clocks, _session(10), Screen())
    await client.close()
    assert clocks.running() == 0


async def test_a_clock_that_fails_tells_its_screens_and_the_next_screen_starts_a_new_one(
        make_client, config, monkeypatch):
    client = await make_client(config.replace(qr_tick_ms=40, qr_min_pool=2))
    clocks = client.app[FRAME_CLOCKS]
    screens = [Screen(), Screen()]
    for screen in screens:
        follow(clocks, _session(11), screen)
    await _until(lambda: all(screen.frames for screen in screens))

    async def broken(app, session):
        raise RuntimeError("a bug in a tick")

    monkeypatch.setattr(projection, "next_frame", broken)
    await _until(lambda: clocks.running() == 0)
    assert [screen.lost for screen in screens] == [1, 1]
    monkeypatch.undo()
    again = Screen()
    leave = follow(clocks, _session(11), again)
    await _until(lambda: len(again.frames) >= 2)
    assert again.lost == 0
    leave()
