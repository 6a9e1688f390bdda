"""The shared-frame mode (docs/protocol.md §8): a whole class answers one frame per tick,
every refusal with its code and cost — real PostgreSQL and Valkey, a real projector socket."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random

import pytest

from asistencia.client import RequestRefused
from asistencia.client.scanner import Scanner
from asistencia.crypto import base45_encode, seal
from asistencia.domain.qr_payload import QrPayload, pack
from asistencia.domain.shared_frame import frame_associated_data, new_frame
from asistencia.store.shared_frames import SHARED_FRAMES
from tests.classroom import PROFESSOR_ID, open_session, projector, scanner, sighting
from tests.helpers import bearer


@dataclasses.dataclass
class Hall:
    client: object
    prof: str
    session: dict
    scanners: list[Scanner]
    screen: object


def _make_config(config, **changes):
    return config.replace(**{"countdown_seconds": 0, "qr_tick_ms": 40, "shared_round_gap_seconds": 1, **changes})


@pytest.fixture
async def hall(make_client, config, token, ready_student, request):
    changes = getattr(request, "param", {})
    client = await make_client(_make_config(config, **changes.get("config", {})))
    prof = token("profesor", user_id=PROFESSOR_ID)
    session = await open_session(client, prof, rounds=changes.get("rounds", 2), projection_mode="shared")
    scanners = []
    for user_id in range(101, 101 + changes.get("students", 3)):
        one = scanner(client, await ready_student(user_id))
        await one.join(session["join_code"])
        scanners.append(one)
    async with projector(client, prof, session["id"]) as screen:
        yield Hall(client, prof, session, scanners, screen)


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


@pytest.mark.parametrize("hall", [{"students": 12, "rounds": 3}], indirect=True)
async def test_a_whole_class_completes_on_shared_frames(hall, pg):
    """Twelve phones that miss a quarter of the frames and answer after 0–0.3 s all complete;
    each round's frame is issued at least the gap after the last."""

    async def glances():
        async for texts in hall.screen.watch():
            if random.random() >= 0.25:
                yield texts

    replies = await asyncio.wait_for(asyncio.gather(*(
        one.run(glances()) for one in hall.scanners)), 30)
    assert [reply["result"] for reply in replies] == ["completed"] * 12
    assert _failures(pg) == []
    rows = _rows(pg, "SELECT r.user_id, count(*), min(rd.response_ms) >= 0 FROM rounds rd "
                     "JOIN registrations r ON r.id = rd.registration_id GROUP BY r.user_id")
    assert sorted(rows) == [(user_id, 3, True) for user_id in range(101, 113)]
    # The frames that passed a student's rounds were issued at least the gap apart.
    gaps = _rows(pg, "SELECT extract(epoch FROM max(rd.projected_at) - min(rd.projected_at)) FROM rounds rd "
                     "GROUP BY rd.registration_id")
    assert min(float(gap) for (gap,) in gaps) >= 1.0


async def test_the_join_gives_the_projection_key_and_the_projector_its_mode(hall):
    student = hall.scanners[0]
    assert student.projection_key == await hall.client.app[SHARED_FRAMES].projection_key(
        hall.session["id"], keep_until=2**31)
    assert hall.screen.started["mode"] == "shared" and hall.screen.started["per_frame"] == 1
    status = await student.status()
    assert status["projection"]["mode"] == "shared" and status["projection"]["key"]
    assert status["projection"]["round_gap_seconds"] == 1
    # One text per frame, the same length and alphabet as a student's code.
    texts = await anext(hall.screen.watch())
    assert len(texts) == 1 and len(texts[0]) == 75


async def test_replaying_an_answered_frame_is_409_and_costs_nothing(hall, pg):
    student = hall.scanners[0]
    seen = await sighting(student, hall.screen)
    proof = student.proof_for(seen.payload)
    first = await student.submit(seen.text, proof)
    assert first == {"result": "partial", "round": 1, "next_round": 2, "rounds": 2}
    assert await student.submit(seen.text, proof) == first  # an identical resend: the recorded reply
    # A scanner that starts again (a reload) learns which frame passed the round.
    assert (await student.status())["projection"]["answered_issued_at"] == seen.payload.issued_at
    again = student.proof_for(seen.payload, round_=1)
    assert await _refused(student.submit(seen.text, again)) == (409, "QR_ALREADY_USED")
    assert _registration(pg, 101) == ("scanning", 2, 0, 0)
    assert _failures(pg) == [(101, 2, "QR_ALREADY_USED")]
    assert len(_rows(pg, "SELECT * FROM rounds")) == 1


async def test_concurrent_submissions_of_one_frame_give_exactly_one_success(hall, pg):
    student = hall.scanners[1]
    seen = await sighting(student, hall.screen)
    results = await asyncio.gather(*(student.submit(seen.text, student.proof_for(seen.payload)) for _ in range(8)),
                                   return_exceptions=True)
    successes = [r for r in results if isinstance(r, dict)]
    refusals = [(r.status, r.code) for r in results if isinstance(r, RequestRefused)]
    assert len(successes) == 1 and successes[0]["result"] == "partial"
    assert refusals == [(409, "QR_ALREADY_USED")] * 7
    assert len(_rows(pg, "SELECT * FROM rounds")) == 1
    assert _registration(pg, 102) == ("scanning", 2, 0, 0)


async def test_every_student_answers_the_same_frame_once(hall, pg):
    """A frame is the whole class's: each student may pass a round with it, once."""
    seen = [await sighting(one, hall.screen) for one in hall.scanners]
    text = seen[-1].text
    for one in hall.scanners:
        payload = one.open_frame(text)
        assert (await one.submit(text, one.proof_for(payload)))["result"] == "partial"
    assert len(_rows(pg, "SELECT * FROM rounds")) == 3


async def test_another_sessions_frame_and_another_students_proof_are_refused(hall, make_client, config, token,
                                                                            ready_student, pg):
    first, second, _ = hall.scanners
    mine = await sighting(first, hall.screen)
    # A frame of another shared session (the student joined it too): not a frame of this one.
    other_session = await open_session(hall.client, hall.prof, projection_mode="shared")
    elsewhere = scanner(hall.client, await ready_student(104))
    await elsewhere.join(other_session["join_code"])
    await first.join(other_session["join_code"])
    other_key = first.projection_key
    other = new_frame(other_key, other_session["id"], 0)
    await first.join(hall.session["join_code"])
    assert await _refused(first.submit(other.text, first.proof_for(mine.payload))) == (422, "QR_NOT_YOURS")
    # Another student's proof for the very frame: it does not open under this student's key.
    assert await _refused(first.submit(mine.text, second.proof_for(mine.payload))) == (422, "PROOF_INVALID")
    assert _failures(pg) == [(101, 1, "QR_NOT_YOURS"), (101, 1, "PROOF_INVALID")]
    assert _registration(pg, 101) == ("scanning", 1, 1, 1)  # only the one its own key made costs
    assert (await first.answer(mine))["result"] == "partial"


async def test_a_frame_never_shown_is_refused(hall, pg):
    """A student holding the projection key can seal a frame of their own: no projector showed it."""
    student = hall.scanners[0]
    forged = new_frame(student.projection_key, hall.session["id"], 0)
    payload = student.open_frame(forged.text)
    assert await _refused(student.submit(forged.text, student.proof_for(payload))) == (422, "QR_NOT_PROJECTED")
    # Nor does a real frame's nonce sealed afresh: the text is not the one shown.
    seen = await sighting(student, hall.screen)
    resealed = base45_encode(seal(student.projection_key, pack(seen.payload), frame_associated_data(hall.session["id"])))
    assert await _refused(student.submit(resealed, student.proof_for(seen.payload))) == (422, "QR_NOT_PROJECTED")
    # A payload that opens under the key but is not a frame of this session's shape.
    wrong = QrPayload(hall.session["id"], 101, 1, 0, os.urandom(8))
    text = base45_encode(seal(student.projection_key, pack(wrong), frame_associated_data(hall.session["id"])))
    assert await _refused(student.submit(text, student.proof_for(wrong, round_=1))) == (404, "QR_UNKNOWN")
    assert _failures(pg) == [(101, 1, "QR_NOT_PROJECTED"), (101, 1, "QR_NOT_PROJECTED"), (101, 1, "QR_UNKNOWN")]
    assert _registration(pg, 101) == ("failed", 1, 3, 3)


@pytest.mark.parametrize("hall", [{"config": {"shared_frame_window_seconds": 1.0}}], indirect=True)
async def test_an_expired_frame_is_410(hall, pg):
    student = hall.scanners[0]
    seen = await sighting(student, hall.screen)
    await asyncio.sleep(1.2)
    for _ in range(3):  # free, as in the per-student mode
        assert await _refused(student.answer(seen)) == (410, "QR_EXPIRED")
    assert _failures(pg) == [(101, 1, "QR_EXPIRED")] * 3
    assert _registration(pg, 101) == ("scanning", 1, 0, 0)
    assert (await student.answer(await sighting(student, hall.screen)))["result"] == "partial"


async def test_wrong_proofs_are_refused(hall, pg):
    """Protocol v2 has no TOTP (SPEC §5): the proof is what a forger gets wrong."""
    student = hall.scanners[2]
    seen = await sighting(student, hall.screen)
    stranger = Scanner(hall.client.session, "", student.token, os.urandom(32))
    stranger.session_id, stranger.student_id = student.session_id, student.student_id
    assert await _refused(student.submit(seen.text, stranger.proof_for(seen.payload, round_=1))) == \
        (422, "PROOF_INVALID")
    other = dataclasses.replace(seen.payload, nonce=os.urandom(8))
    assert await _refused(student.submit(seen.text, student.proof_for(other))) == (422, "PROOF_MISMATCH")
    assert await _refused(student.submit(seen.text, student.proof_for(seen.payload, round_=2))) == \
        (422, "ROUND_MISMATCH")
    assert _failures(pg) == [(103, 1, "PROOF_INVALID"), (103, 1, "PROOF_MISMATCH"), (103, 1, "ROUND_MISMATCH")]
    assert _registration(pg, 103) == ("scanning", 1, 2, 2)


@pytest.mark.parametrize("hall", [{"config": {"shared_round_gap_seconds": 60}}], indirect=True)
async def test_the_next_round_needs_a_frame_issued_the_gap_later(hall, pg):
    student = hall.scanners[0]
    seen = await sighting(student, hall.screen)
    await student.answer(seen)
    # The very next frame: issued within the minute after the one that passed round 1.
    texts = await anext(hall.screen.watch())
    payload = student.open_frame(texts[0])
    assert payload.nonce != seen.payload.nonce
    assert await _refused(student.submit(texts[0], student.proof_for(payload))) == (422, "FRAME_TOO_SOON")
    assert _failures(pg) == [(101, 2, "FRAME_TOO_SOON")]
    assert _registration(pg, 101) == ("scanning", 2, 1, 1)


async def test_a_reset_student_answers_the_next_frame(hall, pg):
    student = hall.scanners[0]
    for _ in range(3):
        forged = new_frame(student.projection_key, hall.session["id"], 0)
        with pytest.raises(RequestRefused):
            await student.submit(forged.text, student.proof_for(student.open_frame(forged.text)))
    assert _registration(pg, 101)[0] == "failed"
    response = await hall.client.post(f"/api/sessions/{hall.session['id']}/students/101/reset",
                                      headers=bearer(hall.prof))
    assert response.status == 200, await response.text()
    assert (await student.answer(await sighting(student, hall.screen)))["result"] == "partial"


async def test_auto_follows_the_course_roster_or_its_busiest_session(make_client, config, token, ready_student, pg):
    client = await make_client(_make_config(config, shared_frames_from_students=3))
    prof = token("profesor", user_id=PROFESSOR_ID)
    first = await open_session(client, prof)
    assert first["projection_mode"] == "per_student"
    with pg.cursor() as cur:
        for i in range(2):
            cur.execute("INSERT INTO course_roster (course_code, rut, user_id, full_name, source, added_by) "
                        "VALUES ('INF-239', %s, %s, 'Alguien', 'csv', %s)", (f"1000000{i}-{i}", 500 + i, PROFESSOR_ID))
    assert (await open_session(client, prof))["projection_mode"] == "per_student"  # a roster of 2
    for user_id in (101, 102, 103):
        await scanner(client, await ready_student(user_id)).join(first["join_code"])
    assert (await open_session(client, prof))["projection_mode"] == "shared"  # 3 joined the first session
    assert (await open_session(client, prof, course_code="OTR-100"))["projection_mode"] == "per_student"
    assert (await open_session(client, prof, projection_mode="per_student"))["projection_mode"] == "per_student"
    response = await client.post("/api/sessions", json={"course_code": "X", "course_name": "Y",
                                                        "projection_mode": "bogus"}, headers=bearer(prof))
    assert response.status == 400
    assert "projection_mode" in (await response.json())["error"]["fields"]


async def test_a_failed_database_write_gives_the_frame_answer_back(hall, pg):
    student = hall.scanners[0]
    seen = await sighting(student, hall.screen)
    with pg.cursor() as cur:
        cur.execute("""CREATE FUNCTION refuse_rounds() RETURNS trigger LANGUAGE plpgsql AS
                       $$ BEGIN RAISE EXCEPTION 'disk full'; END $$""")
        cur.execute("CREATE TRIGGER refuse_rounds BEFORE INSERT ON rounds FOR EACH ROW EXECUTE FUNCTION refuse_rounds()")
    try:
        assert await _refused(student.submit(seen.text, student.proof_for(seen.payload))) == (500, "INTERNAL_ERROR")
    finally:
        with pg.cursor() as cur:
            cur.execute("DROP TRIGGER refuse_rounds ON rounds")
            cur.execute("DROP FUNCTION refuse_rounds()")
    assert _registration(pg, 101) == ("scanning", 1, 0, 0)
    assert (await student.status())["projection"]["answered_issued_at"] is None
    assert (await student.answer(seen))["result"] == "partial"


async def test_a_frame_scan_over_the_websocket(hall, pg):
    student = hall.scanners[0]
    seen = await sighting(student, hall.screen)
    async with hall.client.session.ws_connect(f"{str(hall.client.make_url('')).rstrip('/')}/ws") as ws:
        await ws.send_json({"type": "auth", "token": student.token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json({"type": "join", "id": 1, "code": hall.session["join_code"]})
        joined = await ws.receive_json()
        assert joined["data"]["projection"]["mode"] == "shared" and joined["data"]["projection"]["key"]
        await ws.send_json({"type": "scan", "id": 2, "session": hall.session["id"], "qr": seen.text,
                            "proof": student.proof_for(seen.payload)})
        reply = await ws.receive_json()
    assert reply == {"type": "result", "id": 2, "data": {"result": "partial", "round": 1, "next_round": 2,
                                                          "rounds": 2}}
    assert _registration(pg, 101) == ("scanning", 2, 0, 0)
