"""Rate limits per user in Valkey: one student is limited, the classmates behind the same address are not."""

from __future__ import annotations

import aiohttp
import pytest

from asistencia.crypto import b64url_encode
from asistencia.domain.qr_payload import TEXT_LENGTH
from asistencia.ws import const
from tests.classroom import open_session
from tests.helpers import bearer, error_of


@pytest.fixture
def prof(token):
    return token("profesor", user_id=500)


async def test_join_guesses_are_limited_per_student_not_per_address(make_client, config, token):
    client = await make_client(config.replace(limit_joins_per_minute=5))
    guesser, classmate = bearer(token("alumno", user_id=11)), bearer(token("alumno", user_id=12))
    # Looking a code up guesses as well as joining: both spend the one budget.
    answers = [await client.post("/api/attendance/join", json={"code": "ABCDEF"}, headers=guesser) for _ in range(3)]
    answers += [await client.get("/api/attendance/session?code=ABCDEF", headers=guesser) for _ in range(3)]
    answers += [await client.post("/api/attendance/join", json={"code": "ABCDEF"}, headers=guesser) for _ in range(2)]
    assert [r.status for r in answers] == [404] * 5 + [429] * 3
    assert await error_of(answers[-1]) == (429, "RATE_LIMITED")
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    # Same address (127.0.0.1), another user: untouched.
    response = await client.post("/api/attendance/join", json={"code": "ABCDEF"}, headers=classmate)
    assert await error_of(response) == (404, "JOIN_CODE_UNKNOWN")
    metrics = await (await client.get("/metrics")).text()
    assert 'asistencia_rate_limited_total{limit="joins"} 3.0' in metrics


async def test_passkey_ceremonies_are_limited(make_client, config, token):
    client = await make_client(config.replace(limit_passkey_ceremonies_per_minute=3))
    student = bearer(token("alumno", user_id=13))
    statuses = [(await client.post("/api/login/options", json={}, headers=student)).status for _ in range(5)]
    assert statuses == [422] * 3 + [429] * 2


async def test_uncounted_scan_refusals_past_the_cap_are_counted_not_recorded(make_client, config, prof,
                                                                             ready_student, pg):
    client = await make_client(config.replace(scan_refusals_recorded_max=3, limit_scans_per_minute=8))
    session = await open_session(client, prof)
    student = await ready_student(101)
    await client.post("/api/attendance/join", json={"code": session["join_code"]}, headers=bearer(student.token))
    junk = {"session": session["id"], "qr": "0" * TEXT_LENGTH, "proof": b64url_encode(bytes(48))}
    answers = [await client.post("/api/attendance/scan", json=junk, headers=bearer(student.token)) for _ in range(10)]
    assert [r.status for r in answers] == [422] * 8 + [429] * 2
    assert {(await error_of(r))[1] for r in answers[:8]} == {"PROOF_INVALID"}
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM scan_failures WHERE session_id = %s", (session["id"],))
        assert cur.fetchone()[0] == 3
    metrics = await (await client.get("/metrics")).text()
    assert "asistencia_scan_refusals_unrecorded_total 5.0" in metrics
    fraud = await (await client.get(f"/api/sessions/{session['id']}/fraud", headers=bearer(prof))).json()
    assert (fraud["total"], fraud["unrecorded"], fraud["by_code"]) == (8, 5, {"PROOF_INVALID": 3})
    [flooder] = fraud["students"]
    assert (flooder["user_id"], flooder["total"], flooder["unrecorded"]) == (101, 8, 5)


async def test_forged_tokens_are_limited_per_address_honest_ones_never(make_client, config, token):
    client = await make_client(config.replace(limit_forged_tokens_per_minute=3))
    forged = bearer(token("alumno", user_id=31)[:-4] + "AAAA")
    answers = [await client.get("/api/me", headers=forged) for _ in range(5)]
    assert [r.status for r in answers] == [401] * 3 + [429] * 2
    assert await error_of(answers[-1]) == (429, "RATE_LIMITED")
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    # Expired tokens are what an honest page sends when it slept: never limited.
    expired = bearer(token("alumno", user_id=32, ttl_seconds=-120))
    assert {(await error_of(await client.get("/api/me", headers=expired)))[1] for _ in range(5)} == {"TOKEN_EXPIRED"}
    # A valid token is a user: the address's count does not touch it.
    assert (await client.get("/api/me", headers=bearer(token("alumno", user_id=33)))).status == 200
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": forged["Authorization"].split(" ", 1)[1]})
    assert await _close_code(ws) == const.CLOSE_RATE_LIMITED
    metrics = await (await client.get("/metrics")).text()
    assert 'asistencia_rate_limited_total{limit="forged-tokens"} 3.0' in metrics


async def _authenticated(client, token_text):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": token_text})
    return ws


async def _close_code(ws) -> int:
    msg = await ws.receive(timeout=5)
    while msg.type == aiohttp.WSMsgType.TEXT:
        msg = await ws.receive(timeout=5)
    return ws.close_code


async def test_sockets_per_user_are_capped(make_client, config, token):
    client = await make_client(config.replace(sockets_per_user=2))
    held = [await _authenticated(client, token("alumno", user_id=21)) for _ in range(2)]
    for ws in held:
        assert (await ws.receive_json(timeout=2))["type"] == "auth_ok"
    third = await _authenticated(client, token("alumno", user_id=21))
    assert await _close_code(third) == const.CLOSE_RATE_LIMITED
    other = await _authenticated(client, token("alumno", user_id=22))
    assert (await other.receive_json(timeout=2))["type"] == "auth_ok"
    await held[0].close()
    again = await _authenticated(client, token("alumno", user_id=21))
    assert (await again.receive_json(timeout=2))["type"] == "auth_ok"
    for ws in (*held, third, other, again):
        await ws.close()


async def test_sockets_per_address_are_capped_with_a_json_429(make_client, config, token):
    client = await make_client(config.replace(sockets_per_address=3))
    held = [await _authenticated(client, token("alumno", user_id=30 + n)) for n in range(3)]
    response = await client.get("/ws", headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                                "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "x" * 22 + "=="})
    assert await error_of(response) == (429, "SOCKETS_PER_ADDRESS")
    for ws in held:
        await ws.close()


async def test_socket_connects_and_messages_are_limited_per_user(make_client, config, token):
    client = await make_client(config.replace(limit_socket_connects_per_minute=2, limit_socket_messages_per_minute=4))
    first = await _authenticated(client, token("alumno", user_id=41))
    await first.receive_json(timeout=2)
    for n in range(4):
        await first.send_json({"type": "ping", "id": n})
        assert (await first.receive_json(timeout=2))["type"] == "result"
    await first.send_json({"type": "ping", "id": 5})
    assert await _close_code(first) == const.CLOSE_RATE_LIMITED
    second = await _authenticated(client, token("alumno", user_id=41))
    assert (await second.receive_json(timeout=2))["type"] == "auth_ok"
    third = await _authenticated(client, token("alumno", user_id=41))
    assert await _close_code(third) == const.CLOSE_RATE_LIMITED
    for ws in (second, third):
        await ws.close()
