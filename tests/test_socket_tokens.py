"""A socket's token has a lifetime (docs/protocol.md): state changes need a live token, the page
renews it with {"type":"auth"} on the open socket, an unrenewed socket is closed with 4401."""

from __future__ import annotations

import asyncio

import aiohttp

from asistencia.ws import const


async def _opened(client, token_text: str):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": token_text})
    return ws, await ws.receive_json(timeout=2)


async def test_an_expired_token_refuses_state_changes_until_renewed(make_client, config, token):
    client = await make_client(config.replace(jwt_leeway_seconds=0, socket_token_grace_seconds=30))
    ws, ok = await _opened(client, token("alumno", user_id=31, ttl_seconds=2))
    assert ok["expires_in"] <= 2
    await asyncio.sleep(2.2)
    await ws.send_json({"type": "join", "id": 1, "code": "ABCDEF"})
    reply = await ws.receive_json(timeout=2)
    assert (reply["type"], reply["error"]["code"]) == ("error", "TOKEN_EXPIRED")
    await ws.send_json({"type": "ping", "id": 2})
    assert (await ws.receive_json(timeout=2))["type"] == "result", "ping needs no live token"
    await ws.send_json({"type": "auth", "id": 3, "token": token("alumno", user_id=31)})
    renewed = await ws.receive_json(timeout=2)
    assert renewed["type"] == "result" and 290 <= renewed["data"]["expires_in"] <= 300
    await ws.send_json({"type": "join", "id": 4, "code": "ABCDEF"})
    reply = await ws.receive_json(timeout=2)
    assert reply["error"]["code"] == "JOIN_CODE_UNKNOWN", "the join itself runs again"
    await ws.close()


async def test_a_renewal_for_another_user_closes_the_socket(client, token):
    ws, _ = await _opened(client, token("alumno", user_id=32))
    await ws.send_json({"type": "auth", "id": 1, "token": token("alumno", user_id=33)})
    msg = await ws.receive(timeout=2)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == const.CLOSE_UNAUTHORIZED


async def test_an_unrenewed_socket_is_closed_after_the_grace(make_client, config, token):
    client = await make_client(config.replace(jwt_leeway_seconds=0, socket_token_grace_seconds=1))
    # exp is whole seconds: a token of ttl N lives N-1 to N seconds, so N=1 could expire before its auth.
    ws, _ = await _opened(client, token("profesor", user_id=34, ttl_seconds=3))
    renewed, _ = await _opened(client, token("profesor", user_id=35, ttl_seconds=3))
    await renewed.send_json({"type": "auth", "id": 1, "token": token("profesor", user_id=35)})
    assert (await renewed.receive_json(timeout=2))["type"] == "result"
    msg = await ws.receive(timeout=8)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert (ws.close_code, msg.extra) == (const.CLOSE_UNAUTHORIZED, "TOKEN_EXPIRED")
    await renewed.send_json({"type": "ping", "id": 2})
    assert (await renewed.receive_json(timeout=2))["type"] == "result", "the renewed socket stays open"
    await renewed.close()
