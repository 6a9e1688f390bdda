"""Group commit of the scan path (asistencia.batching, attendance.scan_batches): concurrent
calls share one statement or one Valkey round trip, and each still gets its own answer."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from asistencia.batching import Batcher
from asistencia.crypto import KeyRing
from asistencia.db import create_pool, cursor
from asistencia.domain import rounds
from asistencia.domain.qr_payload import round_qr
from asistencia.store import registrations, session_keys
from asistencia.store.qr_pool import Consumed, QrPool
from asistencia.store.session_keys import SessionKey
from tests import class_data


def _rows(pg, sql: str, *params) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@pytest.fixture
async def pool(config):
    pool = await create_pool(config.database_url, maxsize=2)
    yield pool
    pool.close()
    await pool.wait_closed()


def _recording(run, sizes: list[int]):
    async def recorded(items):
        sizes.append(len(items))
        return await run(items)

    return recorded


async def test_calls_made_together_run_as_one_batch_and_later_ones_wait_for_it():
    sizes: list[int] = []
    release = asyncio.Event()

    async def double(items: list[int]) -> list[int]:
        sizes.append(len(items))
        await release.wait()
        return [item * 2 for item in items]

    batcher = Batcher(double)
    first = [asyncio.create_task(batcher.submit(n)) for n in range(5)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    second = [asyncio.create_task(batcher.submit(n)) for n in range(5, 8)]
    await asyncio.sleep(0.01)
    assert sizes == [5]  # the second group waits while the first batch runs
    release.set()
    assert await asyncio.gather(*first, *second) == [0, 2, 4, 6, 8, 10, 12, 14]
    assert sizes == [5, 3]


async def test_a_key_appears_once_per_batch_and_a_failed_batch_fails_only_its_callers():
    batches: list[list[tuple[str, int]]] = []

    async def run(items: list[tuple[str, int]]) -> list[int]:
        batches.append(items)
        if ("bad", 0) in items:
            raise ValueError("this batch failed")
        return [n for _, n in items]

    batcher = Batcher(run, key=lambda item: item[0])
    calls = [batcher.submit(item) for item in (("a", 1), ("a", 2), ("b", 3), ("bad", 0))]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert batches == [[("a", 1), ("b", 3), ("bad", 0)], [("a", 2)]]
    assert results[1] == 2
    assert all(isinstance(result, ValueError) for result in (results[0], results[2], results[3]))
    await batcher.drain()


async def test_concurrent_passes_share_one_statement_and_each_gets_its_own_answer(pool, pg):
    """Twelve students pass round 1 at once, one statement; the one who failed meanwhile,
    the one already on round 2 and a pass for the same student twice are refused as if alone."""
    professor = class_data.professor(pg)
    session_id = class_data.class_session(pg, professor)
    ids = {}
    for n in range(12):
        user_id = class_data.student(pg, f"1111111{n:02d}-{n % 10}")
        ids[n] = class_data.join(pg, session_id, user_id)
    _rows(pg, "UPDATE registrations SET state = 'failed' WHERE id = %s RETURNING id", ids[3])
    _rows(pg, "UPDATE registrations SET current_round = 2 WHERE id = %s RETURNING id", ids[7])
    now_ms = int(time.time() * 1000)
    on_to_round_2 = rounds.Progress(rounds.SCANNING, 2, 0)

    def passed(n: int, response_ms: int) -> registrations.Pass:
        return registrations.Pass(ids[n], 1, on_to_round_2, response_ms=response_ms,
                                  projected_ms=now_ms - response_ms, scanned_ms=now_ms)

    async def write(passes):
        async with cursor(pool) as cur:
            return await registrations.record_passes(cur, passes)

    sizes: list[int] = []
    batcher = Batcher(_recording(write, sizes), key=lambda one: one.registration_id)
    wanted = [passed(n, 1000 + n) for n in range(12)] + [passed(5, 9999)]
    answers = await asyncio.gather(*(batcher.submit(one) for one in wanted))

    assert sizes == [12, 1]  # the second pass of student 5 waited for the next batch
    assert [answer["passed"] for answer in answers] == [n not in (3, 7) for n in range(12)] + [False]
    assert answers[3]["state"] == "failed" and answers[7]["current_round"] == 2
    assert answers[12]["current_round"] == 2  # it saw the first pass, committed before it
    written = dict(_rows(pg, "SELECT registration_id, response_ms FROM rounds WHERE round = 1"))
    assert written == {ids[n]: 1000 + n for n in range(12) if n not in (3, 7)}
    states = dict(_rows(pg, "SELECT id, current_round FROM registrations"))
    assert states == {ids[n]: 1 if n == 3 else 2 for n in range(12)}


async def test_scan_contexts_answer_each_student_and_session_in_one_statement(pool, pg):
    professor = class_data.professor(pg)
    session_id = class_data.class_session(pg, professor)
    joined = class_data.student(pg, "22222222-2")
    stranger = class_data.student(pg, "33333333-3")
    registration = class_data.join(pg, session_id, joined)
    async with cursor(pool) as cur:
        found = await registrations.scan_contexts(cur, [(session_id, joined), (session_id + 1, joined),
                                                        (session_id, stranger), (session_id, joined)])
    assert [row and row["id"] for row in found] == [registration, None, None, registration]
    assert found[1] is None  # no such session
    assert found[2]["session_id"] == session_id and found[2]["session_open"]  # session, not joined
    assert (found[0]["state"], found[0]["current_round"], found[0]["rounds"]) == ("scanning", 1, 3)


async def test_session_keys_load_many_is_load_for_each(valkey):
    keys = KeyRing(os.urandom(32))
    key = SessionKey(user_id=5, device_id=9, credential_id="abc", key=b"k" * 32, expires_at=time.time() + 60)
    await session_keys.save(valkey, keys, key)
    assert await session_keys.load_many(valkey, keys, [6, 5, 6]) == [None, key, None]
    assert await session_keys.load_many(valkey, keys, []) == []
    assert await session_keys.load(valkey, keys, 5) == key


async def test_concurrent_consumes_go_in_one_pipeline_and_each_is_atomic(valkey, config):
    """Two submissions of the same QR in one batch: one consumes it, the other is told it was used.
    A Valkey that lost the script (NOSCRIPT) is handled by loading it again."""
    pool = QrPool(valkey)
    now = time.time()
    key = b"s" * 32
    qrs = {owner: round_qr(key, 1, owner, 1, now) for owner in (10, 11)}
    for qr in qrs.values():
        await pool.issue(1, qr, mode="ensure", keep_until=int(now) + 600, stale_after_ms=60_000)
    await pool.tick(1, tick_ms=1, per_frame=10, stale_after_ms=60_000, min_pool=0, keep_until=int(now) + 600,
                    showing_offset_ms=0)

    def consume(owner: int):
        qr = qrs[owner]
        return pool.consume(1, entry_id=qr.entry_id, text=qr.texts[0], owner=owner, expected_round=1, proof_round=1,
                            attempts_left=True, window_ms=60_000, keep_until=int(now) + 600,
                            next_qr=None)

    pool._consume.sha = "0" * 40  # as if Valkey had restarted and forgotten the script
    first, again, other = await asyncio.gather(consume(10), consume(10), consume(11))
    assert isinstance(first, Consumed) and isinstance(other, Consumed)
    assert again == "QR_ALREADY_USED"
    assert await consume(11) == "QR_ALREADY_USED"  # alone, after the batch
    await pool.drain()
