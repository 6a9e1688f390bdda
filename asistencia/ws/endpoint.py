"""GET /ws: the auth phase (first message within 5 s), then the command loop.

Everything a connection started is undone in `finally`, whatever way it ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import WSMsgType, web

from asistencia.appkeys import REQUEST_ID, VERIFIED_TOKENS, WEBSOCKETS
from asistencia.errors import DEPENDENCY_FAILURES, ApiError, dependency_down
from asistencia.tokens import TokenError, User, VerifiedTokens
from asistencia.validation import load, parse_json
from asistencia.ws import (  # noqa: F401  (clock, projection, student register their commands)
    clock,
    const,
    messages,
    projection,
    student,
)
from asistencia.ws.commands import COMMANDS
from asistencia.ws.connection import CloseSocket, Connection

log = logging.getLogger(__name__)


def _parse(text: str) -> dict[str, Any] | None:
    try:
        message = parse_json(text)
    except ApiError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None
    return message


async def _close(ws: web.WebSocketResponse, code: int, reason: str) -> None:
    await ws.close(code=code, message=reason.encode()[:120])


async def authenticate(ws: web.WebSocketResponse, tokens: VerifiedTokens) -> User | None:
    """Wait for {"type":"auth","token":…}; close with the SPEC's code on anything else."""
    try:
        msg = await ws.receive(timeout=const.AUTH_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        await _close(ws, const.CLOSE_AUTH_TIMEOUT, "AUTH_TIMEOUT")
        return None
    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
        return None
    message = _parse(msg.data) if msg.type == WSMsgType.TEXT else None
    if message is None or message["type"] != "auth" or not isinstance(message.get("token"), str):
        await _close(ws, const.CLOSE_MALFORMED, "expected {\"type\":\"auth\",\"token\":…}")
        return None
    try:
        return tokens.verify(message["token"])
    except TokenError as exc:
        await _close(ws, const.CLOSE_UNAUTHORIZED, exc.code)
        return None


async def dispatch(connection: Connection, message: dict[str, Any]) -> None:
    msg_id = message.get("id") if isinstance(message.get("id"), int) else None
    command = COMMANDS.get(message["type"])
    try:
        if command is None:
            raise ApiError(f"Unknown command {message['type']!r}", code="UNKNOWN_COMMAND")
        if connection.user.role not in command.roles:
            raise CloseSocket(const.CLOSE_FORBIDDEN, "ROLE_FORBIDDEN")
        data = load(command.schema, message)
        reply = await command.handler(connection, data)
    except ApiError as exc:
        connection.send(messages.error(msg_id, exc))
    except CloseSocket:
        raise
    except DEPENDENCY_FAILURES as exc:
        log.warning("dependency down: %s: %s", type(exc).__name__, exc,
                    extra={"request_id": connection.request_id, "command": message["type"]})
        connection.send(messages.error(msg_id, dependency_down(exc)))
    except Exception:
        log.exception("websocket command failed",
                      extra={"request_id": connection.request_id, "command": message["type"]})
        connection.send(messages.error(msg_id, ApiError(
            f"Internal server error (request id {connection.request_id})", code="INTERNAL_ERROR", status=500)))
    else:
        connection.send(messages.result(msg_id, reply))


async def serve_commands(connection: Connection) -> None:
    ws = connection.ws
    async for msg in ws:
        message = _parse(msg.data) if msg.type == WSMsgType.TEXT else None
        if message is None:
            await _close(ws, const.CLOSE_MALFORMED, "messages are JSON objects with a type")
            return
        try:
            await dispatch(connection, message)
        except CloseSocket as exc:
            await _close(ws, exc.code, exc.reason)
            return


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=const.HEARTBEAT_SECONDS, max_msg_size=const.MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    sockets = request.app[WEBSOCKETS]
    sockets.add(ws)
    connection: Connection | None = None
    try:
        user = await authenticate(ws, request.app[VERIFIED_TOKENS])
        if user is None:
            return ws
        connection = Connection(request.app, ws, user, request[REQUEST_ID], request.remote)
        connection.send(messages.auth_ok(user))
        await serve_commands(connection)
    except Exception:
        # After the upgrade an HTTP error response can no longer be sent: close the socket instead.
        log.exception("websocket failed", extra={"request_id": request[REQUEST_ID]})
        await _close(ws, const.CLOSE_INTERNAL_ERROR, "INTERNAL_ERROR")
    finally:
        if connection is not None:
            await connection.aclose()
        sockets.discard(ws)
    return ws


async def close_all(app: web.Application) -> None:
    """on_shutdown: tell every client we are going away (1001)."""
    sockets = list(app[WEBSOCKETS])
    await asyncio.gather(*(ws.close(code=const.CLOSE_GOING_AWAY, message=b"server shutdown")
                           for ws in sockets), return_exceptions=True)
