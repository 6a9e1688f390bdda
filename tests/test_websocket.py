"""The /ws auth phase and command loop (SPEC §4)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from asistencia.ws import const


async def _closed_with(ws) -> int:
    msg = await ws.receive(timeout=7)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING), msg
    return ws.close_code


async def test_auth_then_ping(client, token):
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": token("alumno", user_id=9)})
        ok = await ws.receive_json(timeout=2)
        assert ok == {"type": "auth_ok", "user": {"id": 9, "username": "user-9", "role": "alumno"},
                      "expires_in": ok["expires_in"]}
        assert 300 <= ok["expires_in"] <= 330, "the token's 300 s plus the 30 s leeway"
        await ws.send_json({"type": "ping", "id": 1})
        reply = await ws.receive_json(timeout=2)
        assert reply["type"] == "result" and reply["id"] == 1
        assert abs(reply["data"]["server_time_ms"] - time.time() * 1000) < 5000


async def test_no_auth_message_within_deadline_closes_4408(client):
    async with client.ws_connect("/ws") as ws:
        started = time.monotonic()
        assert await _closed_with(ws) == const.CLOSE_AUTH_TIMEOUT
        assert 4.5 <= time.monotonic() - started < 7


@pytest.mark.parametrize(
    "first",
    ['{"type":"ping"}', "not json", '["auth"]', '{"type":"auth"}', '{"type":"auth","token":5}'],
)
async def test_malformed_first_message_closes_4400(client, first):
    async with client.ws_connect("/ws") as ws:
        await ws.send_str(first)
        assert await _closed_with(ws) == const.CLOSE_MALFORMED


async def test_invalid_token_closes_4401(client, token):
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": token(ttl_seconds=-120)})
        assert await _closed_with(ws) == const.CLOSE_UNAUTHORIZED
        assert ws.close_code == 4401


async def test_after_auth_bad_messages(client, token):
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": token()})
        await ws.receive_json(timeout=2)
        await ws.send_json({"type": "teleport", "id": 3})
        reply = await ws.receive_json(timeout=2)
        assert reply == {"type": "error", "id": 3,
                         "error": {"code": "UNKNOWN_COMMAND", "message": "Unknown command 'teleport'"}}
        await ws.send_json({"type": "ping", "id": 4, "extra": True})
        reply = await ws.receive_json(timeout=2)
        assert reply["error"]["code"] == "VALIDATION_FAILED" and "extra" in reply["error"]["fields"]
        await ws.send_str("{{{")
        assert await _closed_with(ws) == const.CLOSE_MALFORMED


async def test_shutdown_closes_sockets_with_going_away(make_client, config, token):
    client = await make_client(config)
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": token()})
    await ws.receive_json(timeout=2)
    closing = asyncio.ensure_future(_closed_with(ws))
    await client.app.shutdown()
    assert await closing == const.CLOSE_GOING_AWAY
    await ws.close()


async def test_ws_auth_goes_through_the_same_verified_token_cache(client, token, monkeypatch):
    """The scan path's token is verified once per process, whether it came by HTTP or /ws;
    a remembered token is still refused by /ws once the clock says it expired."""
    import types

    import asistencia.tokens
    from asistencia.appkeys import VERIFIED_TOKENS
    from tests.helpers import bearer

    jwt = token("alumno", user_id=9, ttl_seconds=60)
    assert (await client.get("/api/me", headers=bearer(jwt))).status == 200
    cache = client.server.app[VERIFIED_TOKENS]
    assert list(cache._verified) == [jwt]
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": jwt})
        assert (await ws.receive_json(timeout=2))["type"] == "auth_ok"
    assert list(cache._verified) == [jwt]

    later = time.time() + 3600
    monkeypatch.setattr(asistencia.tokens, "time", types.SimpleNamespace(time=lambda: later))
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": jwt})
        msg = await ws.receive(timeout=2)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == const.CLOSE_UNAUTHORIZED
        assert msg.extra == "TOKEN_EXPIRED"


async def test_bad_join_and_scan_messages_are_refused_and_the_socket_goes_on(client, token):
    """A student's phone sending junk over /ws gets the REST codes back, never an internal error."""
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": token("alumno", user_id=9)})
        await ws.receive_json(timeout=2)
        await ws.send_json({"type": "scan", "id": 1, "session": "1", "qr": "x", "proof": "not*base64"})
        reply = await ws.receive_json(timeout=2)
        assert reply["type"] == "error" and reply["id"] == 1
        assert reply["error"]["code"] == "VALIDATION_FAILED"
        assert {"session", "qr", "proof"} <= set(reply["error"]["fields"])
        await ws.send_json({"type": "scan", "id": 2, "session": 999999, "qr": "A" * 75, "proof": "AAAA"})
        reply = await ws.receive_json(timeout=2)
        assert reply["type"] == "error" and reply["id"] == 2
        assert reply["error"]["code"] == "NOT_JOINED", reply
        await ws.send_json({"type": "join", "id": 3, "code": "ZZZZZZ"})
        reply = await ws.receive_json(timeout=2)
        assert reply["type"] == "error" and reply["id"] == 3 and reply["error"]["code"] == "JOIN_CODE_UNKNOWN", reply
        await ws.send_json({"type": "ping", "id": 4})
        assert (await ws.receive_json(timeout=2))["type"] == "result"


async def _metric(client, name: str) -> float:
    text = await (await client.get("/metrics")).text()
    [value] = [line.split()[-1] for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(value)


async def test_a_client_silent_after_auth_is_pinged_then_dropped_and_its_slot_freed(make_client, config, token):
    """A page's network that died closes nothing; the server's own ping notices (SOCKET_HEARTBEAT_SECONDS)."""
    client = await make_client(config.replace(sockets_per_user=1))
    student = token("alumno", user_id=21)
    # Reads nothing and so answers nothing from now on (autoping only answers inside receive()).
    silent = await client.ws_connect("/ws", autoping=False)
    await silent.send_json({"type": "auth", "token": student})
    assert (await silent.receive_json(timeout=2))["type"] == "auth_ok"
    async with client.ws_connect("/ws") as second:
        await second.send_json({"type": "auth", "token": student})
        assert await _closed_with(second) == const.CLOSE_RATE_LIMITED, "the user's one slot is held"

    # A generous bound: the heartbeat (3 s, and 1.5 s for the pong) drops it in about 4.5 s.
    deadline = time.monotonic() + 30
    while await _metric(client, "asistencia_websockets_silent_total") == 0:
        assert time.monotonic() < deadline, "the silent client was never dropped"
        await asyncio.sleep(0.2)
    assert await _metric(client, "asistencia_websockets_open") == 0
    # What the client would have read: the server's ping, then the connection's end with no close frame.
    assert (await silent.receive(timeout=2)).type == aiohttp.WSMsgType.PING
    assert (await silent.receive(timeout=2)).type == aiohttp.WSMsgType.CLOSED
    assert silent.close_code == aiohttp.WSCloseCode.ABNORMAL_CLOSURE

    async with client.ws_connect("/ws") as again:
        await again.send_json({"type": "auth", "token": student})
        assert (await again.receive_json(timeout=2))["type"] == "auth_ok", "the slot is free again"
        await again.send_json({"type": "ping", "id": 1})
        assert (await again.receive_json(timeout=2))["type"] == "result"
