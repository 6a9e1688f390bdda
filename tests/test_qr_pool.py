"""The QR pool's Lua scripts against real Valkey: fair rotation, shared frames, decoys,
staleness, and the atomic check-and-consume."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from asistencia.domain.qr_payload import RoundQr, decoy, round_qr
from asistencia.store.qr_pool import Consumed, QrPool

SESSION = 77
KEEP = int(time.time()) + 3600


@pytest.fixture
def pool(valkey):
    return QrPool(valkey)


def _qr(owner: int, round_: int = 1, key: bytes | None = None, texts: int = 4) -> RoundQr:
    return round_qr(key or os.urandom(32), SESSION, owner, round_, time.time(), texts=texts)


async def _tick(pool, *, per_frame=1, min_pool=0, stale_after_ms=60_000, tick_ms=1, offset_ms=0):
    # A 1 ms slot: every call is a new slot (the sleep makes sure of it).
    await asyncio.sleep(0.002)
    return await pool.tick(SESSION, tick_ms=tick_ms, per_frame=per_frame, stale_after_ms=stale_after_ms,
                           min_pool=min_pool, keep_until=KEEP, showing_offset_ms=offset_ms)


def _showing(text: str, codes) -> tuple[int, int]:
    """(which of `codes` — RoundQr or (entry id, texts) — `text` belongs to, which of its texts)."""
    for i, code in enumerate(codes):
        texts = code.texts if isinstance(code, RoundQr) else code[1]
        if text in texts:
            return i, texts.index(text)
    raise AssertionError(f"{text} is none of the codes")


async def _issue(pool, qr, mode="ensure", **kwargs):
    return await pool.issue(SESSION, qr, mode=mode, keep_until=KEEP, stale_after_ms=60_000, **kwargs)


async def test_every_entry_is_shown_once_in_creation_order_before_any_is_shown_twice(pool):
    decoys = [decoy(4) for _ in range(2)]
    await pool.pad(SESSION, decoys, keep_until=KEEP)
    students = [_qr(owner) for owner in (1, 2, 3)]
    for qr in students:
        assert await _issue(pool, qr)
    created = [*decoys, *students]
    first = [_showing(*(await _tick(pool, min_pool=5)).texts, created) for _ in range(5)]
    assert first == [(i, 0) for i in range(5)]
    # Shown again in the same order, each showing with the code's next text.
    second = [_showing(*(await _tick(pool, min_pool=5)).texts, created) for _ in range(5)]
    assert second == [(i, 1) for i in range(5)]


async def test_a_new_code_goes_before_codes_already_shown(pool):
    codes = [_qr(owner) for owner in (1, 2, 3, 4)]
    for qr in codes[:3]:
        await _issue(pool, qr)
    shown = [_showing((await _tick(pool)).texts[0], codes) for _ in range(2)]
    await _issue(pool, codes[3])
    nxt = [_showing((await _tick(pool)).texts[0], codes) for _ in range(3)]
    assert shown == [(0, 0), (1, 0)]
    assert nxt == [(2, 0), (3, 0), (0, 1)]  # owner 3's code, never shown, still comes first


async def test_every_projector_in_a_slot_gets_the_same_frame_and_the_rotation_moves_once(pool):
    codes = [_qr(owner) for owner in (1, 2, 3)]
    for qr in codes:
        await _issue(pool, qr)
    frames = await asyncio.gather(*(pool.tick(SESSION, tick_ms=60_000, per_frame=2, stale_after_ms=60_000,
                                              min_pool=0, keep_until=KEEP, showing_offset_ms=0) for _ in range(5)))
    assert len({(tuple(frame.texts), frame.shown_ms) for frame in frames}) == 1 and len(frames[0].texts) == 2
    later = await _tick(pool, per_frame=2)
    # The third code, then one of the two shown in that slot (they tie), with its next text.
    third, again = [_showing(text, codes) for text in later.texts]
    assert third == (2, 0) and again in {(0, 1), (1, 1)}


async def test_a_grid_frame_never_repeats_a_code(pool):
    await _issue(pool, _qr(1))
    await _issue(pool, _qr(2))
    frame = await _tick(pool, per_frame=4)
    assert len(frame.texts) == 2 and len(set(frame.texts)) == 2


async def test_decoys_pad_to_the_minimum_and_give_way_one_per_tick(pool, valkey):
    decoys_key = pool.key(SESSION, "decoys")
    await pool.pad(SESSION, [decoy(4) for _ in range(4)], keep_until=KEEP)
    for owner in (1, 2, 3):
        await _issue(pool, _qr(owner))
    sizes = []
    for _ in range(4):
        frame = await _tick(pool, min_pool=5)
        sizes.append((await valkey.client.scard(decoys_key), frame.decoys_needed))
    assert sizes == [(3, 0), (2, 0), (2, 0), (2, 0)]
    await pool.retire(SESSION, 1)
    await pool.retire(SESSION, 2)
    assert (await _tick(pool, min_pool=5)).decoys_needed == 2


async def test_a_code_past_its_projectable_time_is_handed_back_for_reissue(pool):
    old = _qr(1)
    await _issue(pool, old)
    assert (await _tick(pool, stale_after_ms=50)).texts == [old.texts[0]]
    await asyncio.sleep(0.06)
    frame = await _tick(pool, stale_after_ms=50)
    assert frame.texts == [] and [(s.entry_id, s.owner, s.round) for s in frame.stale] == [(old.entry_id, 1, 1)]
    fresh = _qr(1)
    assert await _issue(pool, fresh, mode="replace", replacing=old.entry_id)
    assert not await _issue(pool, _qr(1), mode="replace", replacing=old.entry_id)  # only once
    assert (await _tick(pool, stale_after_ms=50)).texts == [fresh.texts[0]]


async def test_a_code_whose_texts_are_all_shown_is_handed_back_for_reissue_and_never_shows_one_twice(pool):
    old = _qr(1, texts=2)
    await _issue(pool, old)
    first = await _tick(pool)
    assert (first.texts, first.stale) == ([old.texts[0]], [])
    # Its last text is shown and the code handed back in the same tick, so the next frame has its successor.
    last = await _tick(pool)
    assert last.texts == [old.texts[1]] and [s.entry_id for s in last.stale] == [old.entry_id]
    frame = await _tick(pool)  # not re-issued yet: handed back again, never shown a third time
    assert frame.texts == [] and [s.entry_id for s in frame.stale] == [old.entry_id]
    fresh = _qr(1, texts=2)
    assert await _issue(pool, fresh, mode="replace", replacing=old.entry_id)
    assert (await _tick(pool)).texts == [fresh.texts[0]]
    # The old code's texts stay good inside its window.
    assert isinstance(await _consume(pool, old, text=old.texts[1]), Consumed)


async def test_aged_decoys_go_and_are_asked_for_again(pool):
    await pool.pad(SESSION, [decoy(4)], keep_until=KEEP)
    first = await _tick(pool, min_pool=1, stale_after_ms=50)
    assert first.decoys_needed == 0 and len(first.texts) == 1
    await asyncio.sleep(0.06)
    aged = await _tick(pool, min_pool=1, stale_after_ms=50)
    assert (aged.texts, aged.decoys_needed) == ([], 1)
    replacement = decoy()
    await pool.pad(SESSION, [replacement], keep_until=KEEP)
    assert (await _tick(pool, min_pool=1, stale_after_ms=50)).texts == [replacement[1][0]]


async def test_ensure_keeps_one_live_code_per_student(pool):
    key = os.urandom(32)
    first = _qr(1, key=key)
    assert await _issue(pool, first)
    assert not await _issue(pool, _qr(1, key=key))
    assert await pool.live_entry(SESSION, 1) == first.entry_id
    relogged = _qr(1)  # another session key: the old code is useless to the phone
    assert await _issue(pool, relogged)
    assert await pool.live_entry(SESSION, 1) == relogged.entry_id
    assert [(await _tick(pool)).texts for _ in range(2)] == [[relogged.texts[0]], [relogged.texts[1]]]


async def _consume(pool, qr: RoundQr, *, text=None, owner=None, expected_round=1, proof_round=None,
                   attempts_left=True, window_ms=20_000, next_qr=None):
    return await pool.consume(SESSION, entry_id=qr.entry_id, text=text or qr.texts[0], owner=owner or qr.owner,
                              expected_round=expected_round, proof_round=proof_round or qr.round,
                              attempts_left=attempts_left, window_ms=window_ms, keep_until=KEEP, next_qr=next_qr)


async def test_checks_fail_in_order(pool):
    qr = _qr(5)
    await _issue(pool, qr)
    assert await _consume(pool, _qr(5)) == "QR_UNKNOWN"
    assert await _consume(pool, qr, text=_qr(5).texts[0]) == "QR_UNKNOWN"
    assert await _consume(pool, qr, owner=6) == "QR_NOT_YOURS"
    assert await _consume(pool, qr) == "QR_NOT_PROJECTED"
    await _tick(pool)
    assert await _consume(pool, qr, text=qr.texts[1]) == "QR_NOT_PROJECTED"  # a text not shown yet
    assert await _consume(pool, qr, expected_round=2) == "ROUND_MISMATCH"
    assert await _consume(pool, qr, proof_round=2) == "ROUND_MISMATCH"
    assert await _consume(pool, qr, attempts_left=False) == "NO_ATTEMPTS_LEFT"
    await asyncio.sleep(0.03)
    assert await _consume(pool, qr, window_ms=20) == "QR_EXPIRED"
    assert isinstance(await _consume(pool, qr), Consumed)
    assert await _consume(pool, qr) == "QR_ALREADY_USED"
    # Used before expired: a used code stays a retry however late it comes.
    assert await _consume(pool, qr, window_ms=20) == "QR_ALREADY_USED"


async def test_concurrent_submissions_of_one_code_give_one_success(pool):
    qr = _qr(5)
    await _issue(pool, qr)
    await _tick(pool)
    results = await asyncio.gather(*(_consume(pool, qr, next_qr=_qr(5, 2)) for _ in range(25)))
    assert sum(isinstance(result, Consumed) for result in results) == 1
    assert sorted(r for r in results if isinstance(r, str)) == ["QR_ALREADY_USED"] * 24


async def test_consume_makes_the_next_round_live_and_undo_gives_the_code_back(pool):
    qr, following = _qr(5), _qr(5, 2)
    await _issue(pool, qr)
    shown = await _tick(pool)
    consumed = await _consume(pool, qr, next_qr=following)
    assert consumed.shown_ms == consumed.first_shown_ms == shown.shown_ms == shown.now_ms
    assert consumed.response_ms == consumed.receipt_ms - shown.now_ms >= 0
    assert await pool.live_entry(SESSION, 5) == following.entry_id
    await pool.undo(SESSION, entry_id=qr.entry_id, owner=5, next_qr=following, keep_until=KEEP)
    assert await pool.live_entry(SESSION, 5) == qr.entry_id
    assert isinstance(await _consume(pool, qr), Consumed)
    assert await pool.live_entry(SESSION, 5) is None


async def test_every_key_expires_after_the_session(pool, valkey):
    await pool.pad(SESSION, [decoy(4)], keep_until=KEEP)
    qr = _qr(1)
    await _issue(pool, qr)
    await _tick(pool, tick_ms=60_000, min_pool=2, per_frame=2)  # keeps the decoy; the frame lives 120 s
    assert isinstance(await _consume(pool, qr, next_qr=_qr(1, 2)), Consumed)
    for key in pool.keys(SESSION):
        assert 0 < await valkey.client.pttl(key) <= 3600_000, key
    await pool.discard(SESSION)
    assert not await valkey.client.exists(*pool.keys(SESSION))


@pytest.mark.parametrize("mode", ["ensure", "fresh"])
async def test_a_join_or_reset_that_read_the_round_before_a_pass_committed_keeps_the_next_round(pool, mode):
    """A consume made round 2 live; its pass is not committed yet, so a join or a reset still
    reads round 1 and issues for it. The round-2 QR stays live (else the student, moved on
    to round 2 by the commit, would be left with a round-1 code), and an undo still works."""
    key = os.urandom(32)
    qr, following = _qr(5, key=key), _qr(5, 2, key=key)
    await _issue(pool, qr)
    await _tick(pool)
    assert isinstance(await _consume(pool, qr, next_qr=following), Consumed)
    assert not await _issue(pool, _qr(5, key=key), mode=mode)
    assert await pool.live_entry(SESSION, 5) == following.entry_id
    await pool.undo(SESSION, entry_id=qr.entry_id, owner=5, next_qr=following, keep_until=KEEP)
    assert await pool.live_entry(SESSION, 5) == qr.entry_id


async def test_a_join_replaces_a_later_round_once_projected(pool):
    """An undo that never ran (Valkey down) leaves the next round live while the student is
    still on the round before: once that code has been projected, joining again repairs it."""
    key = os.urandom(32)
    qr, following = _qr(5, key=key), _qr(5, 2, key=key)
    await _issue(pool, qr)
    await _tick(pool)
    assert isinstance(await _consume(pool, qr, next_qr=following), Consumed)
    assert (await _tick(pool)).texts == [following.texts[0]]
    again = _qr(5, key=key)
    assert await _issue(pool, again)
    assert await pool.live_entry(SESSION, 5) == again.entry_id


async def test_each_showing_is_timed_and_a_scan_is_timed_from_the_showing_it_answers(pool):
    qr = _qr(5, texts=4)
    await _issue(pool, qr)
    frames = []
    for _ in range(3):
        frames.append(await _tick(pool))
        await asyncio.sleep(0.02)
    assert [frame.texts for frame in frames] == [[text] for text in qr.texts[:3]]
    consumed = await _consume(pool, qr, text=qr.texts[1])
    assert consumed.first_shown_ms == frames[0].shown_ms
    assert consumed.shown_ms == frames[1].shown_ms not in (frames[0].shown_ms, frames[2].shown_ms)
    assert consumed.response_ms == consumed.receipt_ms - frames[1].shown_ms


async def test_a_showing_starts_when_the_screens_show_the_slot_frame(pool):
    await _issue(pool, _qr(5))
    ahead = await _tick(pool, tick_ms=60_000, offset_ms=59_999)
    assert ahead.shown_ms == ahead.now_ms // 60_000 * 60_000 + 59_999
    await _issue(pool, _qr(6))
    late = await _tick(pool, tick_ms=1, offset_ms=0)  # made after its point in the slot: shown when made
    assert late.shown_ms == late.now_ms
