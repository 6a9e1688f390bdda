"""Scanning rounds (SPEC §3.5): every refusal with its code, what it writes and what it costs,
and the atomic check-and-consume — several students at once, through the real endpoints."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time

import pytest

from asistencia.client import RequestRefused
from asistencia.client.scanner import Scanner
from asistencia.crypto import PROOF, associated_data, b64url_encode, base45_decode, seal
from asistencia.db import create_pool, cursor
from asistencia.domain import rounds
from asistencia.domain.proof import Proof, seal_proof
from asistencia.store import registrations
from asistencia.store.qr_pool import QR_POOL, QrPool
from tests.classroom import PROFESSOR_ID, foreign_text, open_session, projector, scanner, sighting
from tests.helpers import bearer


@dataclasses.dataclass
class Classroom:
    client: object
    prof: str
    session: dict
    scanners: list[Scanner]
    screen: object


def _make_config(config, **changes):
    return config.replace(countdown_seconds=0, qr_tick_ms=40, qr_min_pool=4, **changes)


@pytest.fixture
async def classroom(make_client, config, token, ready_student, request):
    changes = getattr(request, "param", {})
    client = await make_client(_make_config(config, **changes.get("config", {})))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof, rounds=changes.get("rounds", 2),
                                 allowed_networks=changes.get("allowed_networks", []))
    scanners = []
    proxy = {"X-Forwarded-For": "10.0.0.1"} if changes.get("allowed_networks") else {}
    for user_id in (101, 102, 103):
        one = scanner(client, await ready_student(user_id), headers=proxy)
        await one.join(session["join_code"])
        scanners.append(one)
    async with projector(client, prof, session["id"]) as screen:
        yield Classroom(client, prof, session, scanners, screen)


def _rows(pg, sql: str, *params) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _failures(pg) -> list[tuple]:
    return _rows(pg, "SELECT user_id, round, code FROM scan_failures ORDER BY id")


def _registration(pg, user_id: int) -> tuple:
    return _rows(pg, "SELECT state, current_round, round_failures, failures FROM registrations "
                     "WHERE user_id = %s", user_id)[0]


async def _refused(call) -> tuple[int, str]:
    with pytest.raises(RequestRefused) as refused:
        await call
    return refused.value.status, refused.value.code


async def test_students_pass_their_rounds_and_complete(classroom, pg):
    first, second, _ = classroom.scanners
    seen = await sighting(first, classroom.screen)
    reply = await first.answer(seen)
    assert reply == {"result": "partial", "round": 1, "next_round": 2, "rounds": 2}
    reply = await first.answer(await sighting(first, classroom.screen))
    assert reply == {"result": "completed", "round": 2, "rounds": 2, "status": reply["status"]}
    assert reply["status"] in {"PRESENT", "DOUBTFUL"}
    rounds = _rows(pg, "SELECT rd.round, rd.response_ms >= 0, rd.scanned_at >= rd.projected_at FROM rounds rd "
                       "JOIN registrations r ON r.id = rd.registration_id WHERE r.user_id = 101 ORDER BY round")
    assert rounds == [(1, True, True), (2, True, True)]
    outcome = _rows(pg, "SELECT o.computed_status, o.status, o.rounds_completed, o.certainty IS NOT NULL, "
                        "o.rt_mean_ms IS NOT NULL FROM outcomes o JOIN registrations r ON r.id = o.registration_id")
    assert outcome == [(reply["status"], reply["status"], 2, True, True)]
    assert _registration(pg, 101) == ("completed", 3, 0, 0)
    assert _registration(pg, 102) == ("scanning", 1, 0, 0)
    again = await sighting(second, classroom.screen)
    assert (await second.answer(again))["result"] == "partial"
    assert await _refused(first.submit(seen.text, first.proof_for(seen.payload))) == (409, "ALREADY_COMPLETED")


async def test_a_round_is_timed_from_the_start_of_the_showing_whose_text_was_answered(classroom, pg, valkey):
    """The phone answers an earlier showing of its code after later ones: the response time is the
    receipt minus the start of the earlier showing, not of the first or the latest one."""
    student = classroom.scanners[0]
    sightings = [await sighting(student, classroom.screen) for _ in range(3)]
    assert len({seen.text for seen in sightings}) == 3 and len({seen.payload for seen in sightings}) == 1
    await student.answer(sightings[1])
    pool = classroom.client.app[QR_POOL]
    entries = pool.key(classroom.session["id"], "entry")
    entry = sightings[1].payload.entry_id
    texts = (await valkey.client.hget(entries, entry)).decode().split("|")[3].split(",")
    # The showings' starts sit beside the entry (lua/common.lua).
    starts = [int(ms) for ms in (await valkey.client.hget(entries, entry + "@")).decode().split(",")]
    answered = starts[texts.index(sightings[1].text)]
    assert answered not in (starts[0], starts[texts.index(sightings[2].text)])
    [(response_ms, projected_ms, scanned_ms)] = _rows(
        pg, "SELECT rd.response_ms, round(extract(epoch FROM rd.projected_at) * 1000)::bigint, "
            "round(extract(epoch FROM rd.scanned_at) * 1000)::bigint FROM rounds rd "
            "JOIN registrations r ON r.id = rd.registration_id WHERE r.user_id = 101")
    assert projected_ms == answered
    assert response_ms == scanned_ms - answered > 0


async def test_no_code_is_made_for_a_round_past_the_last(classroom, pg, valkey):
    student = classroom.scanners[0]
    for _ in range(2):
        reply = await student.answer(await sighting(student, classroom.screen))
    assert reply["result"] == "completed"
    pool = classroom.client.app[QR_POOL]
    assert await pool.live_entry(classroom.session["id"], 101) is None
    entries = await valkey.client.hvals(pool.key(classroom.session["id"], "entry"))
    assert sorted(int(e.decode().split("|")[1]) for e in entries if e.decode().startswith("101|")) == [1, 2]


async def test_replaying_a_used_qr_is_409_and_costs_nothing(classroom, pg):
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    await student.answer(seen)
    assert await _refused(student.submit(seen.text, student.proof_for(seen.payload))) == (409, "QR_ALREADY_USED")
    assert _registration(pg, 101) == ("scanning", 2, 0, 0)
    assert _failures(pg) == [(101, 2, "QR_ALREADY_USED")]
    assert len(_rows(pg, "SELECT * FROM rounds")) == 1


@pytest.mark.parametrize("classroom", [{"config": {"qr_window_seconds": 1.0}, "rounds": 2}], indirect=True)
async def test_an_identical_resend_gets_the_recorded_reply_at_once_and_after_the_window(classroom, pg):
    """The scanner resends the very same scan when its reply is lost: same reply, nothing spent or logged."""
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    proof = student.proof_for(seen.payload)
    first = await student.submit(seen.text, proof)
    assert first == {"result": "partial", "round": 1, "next_round": 2, "rounds": 2}
    assert await student.submit(seen.text, proof) == first
    await asyncio.sleep(1.5)  # the code's window is over
    assert await student.submit(seen.text, proof) == first
    last = await sighting(student, classroom.screen, round_=2)
    last_proof = student.proof_for(last.payload)
    completed = await student.submit(last.text, last_proof)
    assert completed["result"] == "completed"
    await asyncio.sleep(1.5)
    assert await student.submit(last.text, last_proof) == completed  # after the last round too
    assert await student.submit(seen.text, proof) == first
    assert _registration(pg, 101) == ("completed", 3, 0, 0)
    assert _failures(pg) == []
    assert len(_rows(pg, "SELECT * FROM rounds")) == 2


@pytest.mark.parametrize("classroom", [{"config": {"limit_scans_per_minute": 1}}], indirect=True)
async def test_an_identical_resend_is_answered_past_the_scan_limit(classroom):
    """The limit stops a flood; a phone resending its accepted scan still gets its reply."""
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    proof = student.proof_for(seen.payload)
    first = await student.submit(seen.text, proof)
    assert first["result"] == "partial"
    assert await student.submit(seen.text, proof) == first
    other = student.proof_for(seen.payload)  # the same code with a fresh proof is not a resend
    assert await _refused(student.submit(seen.text, other)) == (429, "RATE_LIMITED")


async def test_concurrent_submissions_of_one_qr_give_exactly_one_success(classroom, pg):
    student = classroom.scanners[1]
    seen = await sighting(student, classroom.screen)
    results = await asyncio.gather(*(student.submit(seen.text, student.proof_for(seen.payload)) for _ in range(8)),
                                   return_exceptions=True)
    successes = [r for r in results if isinstance(r, dict)]
    refusals = [(r.status, r.code) for r in results if isinstance(r, RequestRefused)]
    assert len(successes) == 1 and successes[0]["result"] == "partial"
    assert refusals == [(409, "QR_ALREADY_USED")] * 7
    assert len(_rows(pg, "SELECT * FROM rounds")) == 1
    assert _registration(pg, 102) == ("scanning", 2, 0, 0)


async def test_a_qr_never_projected_is_refused(make_client, config, token, ready_student, pg, valkey):
    client = await make_client(_make_config(config))
    session = await open_session(client, token("profesor", user_id=PROFESSOR_ID))
    student = await ready_student(101)
    one = scanner(client, student)
    await one.join(session["join_code"])
    # No projector runs: read the student's live code straight from the pool (as if it leaked).
    pool = QrPool(valkey)
    entry = await pool.live_entry(session["id"], 101)
    text = (await valkey.client.hget(pool.key(session["id"], "entry"), entry)).decode().split("|")[3].split(",")[0]
    payload = one.open(text, 1)
    assert payload is not None
    assert await _refused(one.submit(text, one.proof_for(payload))) == (422, "QR_NOT_PROJECTED")
    assert _failures(pg) == [(101, 1, "QR_NOT_PROJECTED")]
    assert _registration(pg, 101) == ("scanning", 1, 1, 1)
    assert _rows(pg, "SELECT * FROM rounds") == []


@pytest.mark.parametrize("classroom", [{"config": {"qr_window_seconds": 1}}], indirect=True)
async def test_an_expired_qr_is_410(classroom, pg):
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    await asyncio.sleep(1.1)
    # Logged for the fraud counters, but free: an honest phone's answer can arrive late.
    for _ in range(3):
        assert await _refused(student.answer(seen)) == (410, "QR_EXPIRED")
    assert _failures(pg) == [(101, 1, "QR_EXPIRED")] * 3
    assert _registration(pg, 101) == ("scanning", 1, 0, 0)
    assert _rows(pg, "SELECT * FROM rounds") == []
    # An expired code is re-issued with a new nonce and the student can still pass.
    fresh = await sighting(student, classroom.screen, timeout=5)
    assert fresh.payload.nonce != seen.payload.nonce
    assert (await student.answer(fresh))["result"] == "partial"


async def test_another_students_qr_and_a_decoy_are_not_yours(classroom, pg):
    first, second, third = classroom.scanners
    theirs = await sighting(second, classroom.screen)
    # A proof for someone else's code can only name a nonce the submitter cannot read: use our own proof shape.
    mine = await sighting(first, classroom.screen)
    assert await _refused(first.submit(theirs.text, first.proof_for(mine.payload))) == (422, "QR_NOT_YOURS")
    decoy = await foreign_text(classroom.scanners, classroom.screen)
    assert await _refused(first.submit(decoy, first.proof_for(mine.payload))) == (422, "QR_NOT_YOURS")
    assert _failures(pg) == [(101, 1, "QR_NOT_YOURS"), (101, 1, "QR_NOT_YOURS")]
    assert _registration(pg, 101) == ("scanning", 1, 2, 2)
    assert _registration(pg, 102) == ("scanning", 1, 0, 0)
    assert (await second.answer(theirs))["result"] == "partial"  # still good for its owner
    assert _rows(pg, "SELECT r.user_id FROM rounds rd JOIN registrations r ON r.id = rd.registration_id") == [(102,)]


async def test_a_wrong_round_is_refused(classroom, pg):
    student = classroom.scanners[2]
    seen = await sighting(student, classroom.screen)
    wrong = student.proof_for(seen.payload, round_=2)
    assert await _refused(student.submit(seen.text, wrong)) == (422, "ROUND_MISMATCH")
    assert _failures(pg) == [(103, 1, "ROUND_MISMATCH")]
    assert _registration(pg, 103) == ("scanning", 1, 1, 1)
    assert _rows(pg, "SELECT * FROM rounds") == []


@pytest.mark.parametrize("offset", [90, -90, -3600])
async def test_a_phone_clock_that_is_off_scans_present(make_client, config, token, ready_student, offset):
    """Protocol v2 has no TOTP: nothing depends on the phone's clock (SPEC §3.5). The code
    comes round once a second, so the answer (0.6 s) is timed from the showing it saw."""
    client = await make_client(config.replace(countdown_seconds=0, qr_tick_ms=100, qr_min_pool=10))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof, rounds=3)
    phone = scanner(client, await ready_student(101), clock=lambda: time.time() + offset,
                    answer_delay=lambda: 0.6)
    await phone.join(session["join_code"])
    async with projector(client, prof, session["id"]) as screen:
        reply = await asyncio.wait_for(phone.run(screen.watch()), 30)
    assert reply == {"result": "completed", "round": 3, "rounds": 3, "status": "PRESENT"}


async def test_proof_refusals(classroom, pg):
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    place = {"session_id": classroom.session["id"], "student_id": 101}
    foreign_key = seal_proof(os.urandom(32), Proof(seen.payload.nonce, 1, 0), **place)
    assert await _refused(student.submit(seen.text, foreign_key)) == (422, "PROOF_INVALID")
    garbage = b64url_encode(seal(student.session_key, b'{"round": 1}', associated_data(PROOF, **place, round_=1)))
    assert await _refused(student.submit(seen.text, garbage)) == (400, "PROOF_MALFORMED")
    other_nonce = seal_proof(student.session_key, Proof(os.urandom(8), 1, 0), **place)
    assert await _refused(student.submit(seen.text, other_nonce)) == (422, "PROOF_MISMATCH")
    assert await _refused(student.submit(seen.text, "not*base64")) == (400, "VALIDATION_FAILED")
    assert await _refused(student.submit(seen.text[:-1], student.proof_for(seen.payload))) == \
        (400, "VALIDATION_FAILED")
    assert [code for _, _, code in _failures(pg)] == ["PROOF_INVALID", "PROOF_MALFORMED", "PROOF_MISMATCH"]
    # PROOF_INVALID costs nothing (anyone holding the token could send it); the other two do.
    assert _registration(pg, 101) == ("scanning", 1, 2, 2)


async def test_a_token_holder_replaying_projected_codes_as_proofs_cannot_fail_the_student(classroom, pg):
    """Whoever holds only the student's JWT sees the projected texts: sent as proofs (with each
    other, and with the student's own code), none opens as a proof, so none costs an attempt."""
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    texts = {seen.text}  # each showing is a text of its own: this one may not come again
    async for frame in classroom.screen.watch():
        texts.update(frame)
        if len(texts) >= 6:
            break
    for text in texts:
        as_proof = b64url_encode(base45_decode(text))
        for qr in (seen.text, text):
            assert await _refused(student.submit(qr, as_proof)) == (422, "PROOF_INVALID")
    assert _registration(pg, 101) == ("scanning", 1, 0, 0)
    assert {code for _, _, code in _failures(pg)} == {"PROOF_INVALID"}
    assert (await student.answer(await sighting(student, classroom.screen)))["result"] == "partial"


async def test_exhausted_attempts_mark_the_student_failed(classroom, pg, valkey):
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    bad = student.proof_for(seen.payload, round_=2)
    for _ in range(3):
        assert await _refused(student.submit(seen.text, bad)) == (422, "ROUND_MISMATCH")
    assert _registration(pg, 101) == ("failed", 1, 3, 3)
    assert await _refused(student.answer(seen)) == (422, "NO_ATTEMPTS_LEFT")
    assert _rows(pg, "SELECT * FROM rounds") == []
    assert [code for _, _, code in _failures(pg)] == ["ROUND_MISMATCH"] * 3 + ["NO_ATTEMPTS_LEFT"]
    assert await QrPool(valkey).live_entry(classroom.session["id"], 101) is None
    status = await student.status()
    assert (status["state"], status["attempts_left"]) == ("failed", 0)
    session = await (await classroom.client.get(f"/api/sessions/{classroom.session['id']}",
                                                headers=bearer(classroom.prof))).json()
    assert (session["counters"]["failed"], session["counters"]["in_progress"]) == (1, 2)


async def test_a_closed_session_refuses_scans(classroom, pg):
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    await classroom.client.post(f"/api/sessions/{classroom.session['id']}/close", headers=bearer(classroom.prof))
    assert await _refused(student.answer(seen)) == (422, "SESSION_CLOSED")
    assert _rows(pg, "SELECT * FROM rounds") == []
    assert _failures(pg) == []


@pytest.mark.parametrize("classroom", [{"allowed_networks": ["10.0.0.0/8"]}], indirect=True)
async def test_a_scan_from_outside_the_allowed_networks_is_refused(classroom, pg):
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    student.extra_headers = {"X-Forwarded-For": "192.168.1.5"}
    assert await _refused(student.answer(seen)) == (403, "NETWORK_NOT_ALLOWED")
    assert _failures(pg) == [(101, 1, "NETWORK_NOT_ALLOWED")]
    assert _registration(pg, 101) == ("scanning", 1, 0, 0)
    student.extra_headers = {"X-Forwarded-For": "10.9.9.9"}
    assert (await student.answer(seen))["result"] == "partial"


async def test_preconditions_are_refused_without_a_trace(classroom, pg, token, ready_student, valkey):
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    outsider = scanner(classroom.client, await ready_student(999))
    outsider.session_id, outsider.student_id = classroom.session["id"], 999
    assert await _refused(outsider.submit(seen.text, outsider.proof_for(seen.payload))) == (404, "NOT_JOINED")
    student.session_id = 424242
    assert await _refused(student.submit(seen.text, student.proof_for(seen.payload))) == (404, "NOT_JOINED"), \
        "a session that does not exist looks like one not joined"
    student.session_id = classroom.session["id"]
    from asistencia.store import session_keys
    await session_keys.delete(valkey, 101)
    assert await _refused(student.submit(seen.text, student.proof_for(seen.payload))) == (422, "NOT_READY")
    assert _failures(pg) == []


async def test_a_failed_database_write_gives_the_qr_back(classroom, pg):
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    with pg.cursor() as cur:
        cur.execute("""CREATE FUNCTION refuse_rounds() RETURNS trigger LANGUAGE plpgsql AS
                       $$ BEGIN RAISE EXCEPTION 'disk full'; END $$""")
        cur.execute("CREATE TRIGGER refuse_rounds BEFORE INSERT ON rounds FOR EACH ROW EXECUTE FUNCTION refuse_rounds()")
    try:
        assert await _refused(student.answer(seen)) == (500, "INTERNAL_ERROR")
    finally:
        with pg.cursor() as cur:
            cur.execute("DROP TRIGGER refuse_rounds ON rounds")
            cur.execute("DROP FUNCTION refuse_rounds()")
    assert _registration(pg, 101) == ("scanning", 1, 0, 0)
    assert (await student.answer(seen))["result"] == "partial"


async def test_scan_over_the_websocket(classroom, pg):
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    async with classroom.client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": student.token})
        await ws.receive_json(timeout=2)
        body = {"session": classroom.session["id"], "qr": seen.text, "proof": student.proof_for(seen.payload)}
        await ws.send_json({"type": "scan", "id": 7, **body})
        reply = await ws.receive_json(timeout=5)
        assert reply == {"type": "result", "id": 7,
                         "data": {"result": "partial", "round": 1, "next_round": 2, "rounds": 2}}
        # The identical scan again (a lost reply) gets the same reply; another proof of the used code is refused.
        await ws.send_json({"type": "scan", "id": 8, **body})
        reply = await ws.receive_json(timeout=5)
        assert reply == {"type": "result", "id": 8,
                         "data": {"result": "partial", "round": 1, "next_round": 2, "rounds": 2}}
        await ws.send_json({"type": "scan", "id": 9, **body, "proof": student.proof_for(seen.payload)})
        reply = await ws.receive_json(timeout=5)
        assert reply["type"] == "error" and reply["error"]["code"] == "QR_ALREADY_USED"
    assert len(_rows(pg, "SELECT * FROM rounds")) == 1


async def test_a_passed_round_is_written_only_while_the_student_is_still_on_it(classroom, pg, config):
    """The pass re-checks under its lock what the pre-check saw: a concurrent scan, a failure
    or the session ending in between leaves the registration as it is."""
    ids = dict(_rows(pg, "SELECT user_id, id FROM registrations"))
    now_ms = int(time.time() * 1000)
    timing = {"response_ms": 900, "projected_ms": now_ms - 900, "scanned_ms": now_ms}
    on_to_round_2 = rounds.Progress(rounds.SCANNING, 2, 0)
    pool = await create_pool(config.database_url, maxsize=1)

    async def pass_round_1(cur, user_id: int):
        return (await registrations.record_passes(cur, [registrations.Pass(ids[user_id], 1, on_to_round_2,
                                                                           **timing)]))[0]

    try:
        async with cursor(pool) as cur:
            first = await pass_round_1(cur, 101)
            again = await pass_round_1(cur, 101)
            _rows(pg, "UPDATE registrations SET state = 'failed' WHERE user_id = 102 RETURNING id")
            failed = await pass_round_1(cur, 102)
            _rows(pg, "UPDATE class_sessions SET ends_at = now() RETURNING id")  # over, not yet closed
            closed = await pass_round_1(cur, 103)
    finally:
        pool.close()
        await pool.wait_closed()
    assert first["passed"] and (first["state"], first["current_round"]) == ("scanning", 1)
    assert not again["passed"] and again["current_round"] == 2
    assert not failed["passed"] and failed["state"] == "failed"
    assert not closed["passed"] and not closed["session_open"]
    assert [_registration(pg, user_id) for user_id in (101, 102, 103)] == [
        ("scanning", 2, 0, 0), ("failed", 1, 0, 0), ("scanning", 1, 0, 0)]
    assert _rows(pg, "SELECT registration_id, round, response_ms FROM rounds") == [(ids[101], 1, 900)]


async def test_a_refused_scan_racing_a_close_costs_nothing(classroom, pg):
    """The session closes between a scan's pre-check and its refusal being recorded: the refusal
    is SESSION_CLOSED, spends no attempt and leaves the closed session's counters as the close set them."""
    from asistencia.store.qr_pool import QR_POOL
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    bad = student.proof_for(seen.payload, round_=2)
    for _ in range(2):
        assert await _refused(student.submit(seen.text, bad)) == (422, "ROUND_MISMATCH")
    pool = classroom.client.app[QR_POOL]
    consume = pool.consume

    async def consume_after_a_close(*args, **kwargs):
        response = await classroom.client.post(f"/api/sessions/{classroom.session['id']}/close",
                                               headers=bearer(classroom.prof))
        assert response.status == 200
        return await consume(*args, **kwargs)

    pool.consume = consume_after_a_close
    try:
        assert await _refused(student.submit(seen.text, bad)) == (422, "SESSION_CLOSED")
    finally:
        del pool.consume
    assert _registration(pg, 101) == ("scanning", 1, 2, 2)
    assert [code for _, _, code in _failures(pg)] == ["ROUND_MISMATCH"] * 2
    session = await (await classroom.client.get(f"/api/sessions/{classroom.session['id']}",
                                                headers=bearer(classroom.prof))).json()
    assert session["counters"] | {"version": None} == {
        "joined": 3, "in_progress": 0, "present": 0, "late": 0, "doubtful": 0, "justified": 0, "failed": 0, "absent": 3,
        "version": None}


async def test_valkey_down_mid_scan_is_503_and_leaves_nothing_behind(classroom, pg):
    """The consume cannot reach Valkey: the client hears 503 (retry), no round, no refusal, no
    attempt spent — and the same QR scans fine once Valkey answers again."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from asistencia.store.qr_pool import QR_POOL
    student = classroom.scanners[0]
    seen = await sighting(student, classroom.screen)
    pool = classroom.client.app[QR_POOL]

    async def unreachable(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    pool.consume = unreachable
    try:
        assert await _refused(student.answer(seen)) == (503, "DEPENDENCY_DOWN")
    finally:
        del pool.consume
    assert _rows(pg, "SELECT * FROM rounds") == []
    assert _failures(pg) == []
    assert _registration(pg, 101) == ("scanning", 1, 0, 0)
    assert (await student.answer(seen))["result"] == "partial"
