"""GET /ws: the auth phase (first message within 5 s), then the command loop.

Everything a connection started is undone in `finally`, whatever way it ends.

A client that falls silent is dropped by aiohttp's heartbeat: after
SOCKET_HEARTBEAT_SECONDS without a frame from it the server sends a
WebSocket ping, and with no frame within half that again it closes the
transport (no close frame: the client is presumed gone) and the receive
loop gets the timeout as an error. Pages ping every 1.5 s (liveness.js), so
they are never pinged; other clients answer pings as any WebSocket library
does while it reads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from asistencia.appkeys import CONFIG, REQUEST_ID, VERIFIED_TOKENS, WEBSOCKETS
from asistencia.attendance import limits
from asistencia.errors import DEPENDENCY_FAILURES, ApiError, DependencyDown, RateLimited, dependency_down
from asistencia.metrics import METRICS
from asistencia.tokens import TokenError, User
from asistencia.validation import load, parse_json
from asistencia.ws import (  # noqa: F401  (clock, projection, student, token_renewal register their commands)
    clock,
    const,
    messages,
    projection,
    student,
    token_renewal,
)
from asistencia.ws.caps import SOCKET_CAPS
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


async def authenticate(ws: web.WebSocketResponse, request: web.Request) -> tuple[User, float] | None:
    """Wait for {"type":"auth","token":…}; close with the SPEC's code on anything else."""
    try:
        # A deadline, not receive()'s timeout: that one starts again after every heartbeat pong.
        async with asyncio.timeout(const.AUTH_TIMEOUT_SECONDS):
            msg = await ws.receive()
    except TimeoutError:
        await _close(ws, const.CLOSE_AUTH_TIMEOUT, "AUTH_TIMEOUT")
        return None
    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
        return None
    message = _parse(msg.data) if msg.type == WSMsgType.TEXT else None
    if message is None or message["type"] != "auth" or not isinstance(message.get("token"), str):
        await _close(ws, const.CLOSE_MALFORMED, "expected {\"type\":\"auth\",\"token\":…}")
        return None
    try:
        return request.app[VERIFIED_TOKENS].verify_until(message["token"])
    except TokenError as exc:
        try:
            await limits.refused_token(request.app, request.remote, exc)
        except RateLimited:
            await _close(ws, const.CLOSE_RATE_LIMITED, "RATE_LIMITED")
            return None
        await _close(ws, const.CLOSE_UNAUTHORIZED, exc.code)
        return None


async def dispatch(connection: Connection, message: dict[str, Any]) -> None:
    msg_id = message.get("id") if isinstance(message.get("id"), int) else None
    command = COMMANDS.get(message["type"])
    try:
        await limits.spend(connection.app, limits.socket_messages(connection.app), connection.user.id)
        if command is None:
            raise ApiError(f"Unknown command {message['type']!r}", code="UNKNOWN_COMMAND")
        if connection.user.role not in command.roles:
            raise CloseSocket(const.CLOSE_FORBIDDEN, "ROLE_FORBIDDEN")
        if command.live_token and not connection.token_live():
            raise TokenError("The socket's token has expired: send a fresh one with {\"type\":\"auth\"}",
                             code="TOKEN_EXPIRED")
        data = load(command.schema, message)
        reply = await command.handler(connection, data)
    except RateLimited:
        raise CloseSocket(const.CLOSE_RATE_LIMITED, "RATE_LIMITED") from None
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
        if msg.type == WSMsgType.ERROR:
            return  # the connection is gone (the heartbeat's timeout, a broken frame): nothing to answer
        message = _parse(msg.data) if msg.type == WSMsgType.TEXT else None
        if message is None:
            await _close(ws, const.CLOSE_MALFORMED, "messages are JSON objects with a type")
            return
        try:
            await dispatch(connection, message)
        except CloseSocket as exc:
            await _close(ws, exc.code, exc.reason)
            return


async def _admission_refused(app: web.Application, user: User) -> tuple[int, str] | None:
    """Why this user may not open one more socket now, as (close code, reason); None if they may."""
    if app[SOCKET_CAPS].user_full(user.id):
        app[METRICS].rate_limited.labels("sockets-per-user").inc()
        return const.CLOSE_RATE_LIMITED, "SOCKETS_PER_USER"
    try:
        await limits.spend(app, limits.socket_connects(app), user.id)
    except RateLimited:
        return const.CLOSE_RATE_LIMITED, "RATE_LIMITED"
    except DependencyDown:
        return const.CLOSE_TRY_AGAIN_LATER, "DEPENDENCY_DOWN"
    return None


async def websocket(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    caps = app[SOCKET_CAPS]
    if caps.address_full(request.remote):
        app[METRICS].rate_limited.labels("sockets-per-address").inc()
        raise RateLimited("Too many open sockets from this address", code="SOCKETS_PER_ADDRESS", retry_after=10)
    ws = web.WebSocketResponse(heartbeat=app[CONFIG].socket_heartbeat_seconds,
                               max_msg_size=const.MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    sockets = app[WEBSOCKETS]
    sockets.add(ws)
    connection: Connection | None = None
    try:
        with caps.address(request.remote):
            authenticated = await authenticate(ws, request)
            if authenticated is None:
                return ws
            user, token_expires = authenticated
            refused = await _admission_refused(app, user)
            if refused is not None:
                await _close(ws, *refused)
                return ws
            with caps.user(user.id):
                connection = Connection(app, ws, user, token_expires, request[REQUEST_ID], request.remote)
                connection.send(messages.auth_ok(user, token_expires - time.time()))
                token_renewal.close_when_expired(connection)
                await serve_commands(connection)
    except Exception:
        # After the upgrade an HTTP error response can no longer be sent: close the socket instead.
        log.exception("websocket failed", extra={"request_id": request[REQUEST_ID]})
        await _close(ws, const.CLOSE_INTERNAL_ERROR, "INTERNAL_ERROR")
    finally:
        if connection is not None:
            await connection.aclose()
        sockets.discard(ws)
        _count_silent(app, ws, request)
    return ws


def _count_silent(app: web.Application, ws: web.WebSocketResponse, request: web.Request) -> None:
    """A client that answered neither the heartbeat's ping nor a close frame in time: aiohttp
    dropped it (1006) with a timeout as its exception. Counted here, after the handler, since a
    server that cancels handlers on lost connections (the test server) never gets to the loop."""
    if ws.close_code == WSCloseCode.ABNORMAL_CLOSURE and isinstance(ws.exception(), TimeoutError):
        app[METRICS].websockets_silent.inc()
        log.info("websocket client silent: dropped", extra={"request_id": request[REQUEST_ID]})


async def close_all(app: web.Application) -> None:
    """on_shutdown: tell every client we are going away (1001)."""
    sockets = list(app[WEBSOCKETS])
    await asyncio.gather(*(ws.close(code=const.CLOSE_GOING_AWAY, message=b"server shutdown")
                           for ws in sockets), return_exceptions=True)
