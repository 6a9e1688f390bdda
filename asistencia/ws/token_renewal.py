"""A socket's token has a lifetime: commands that change state need a live one.

The page sends a fresh token on the open socket (`{"type":"auth","token"}`,
for the same user) before the old one expires; a socket whose token stays
expired past a grace period is closed with 4401, and the page reconnects
with a fresh token as after any 4401.
"""

from __future__ import annotations

import time
from typing import Any

from asistencia.appkeys import CONFIG, VERIFIED_TOKENS
from asistencia.tokens import ROLES
from asistencia.validation import Text
from asistencia.ws.commands import CommandSchema, command
from asistencia.ws.connection import CloseSocket, Connection
from asistencia.ws.const import CLOSE_UNAUTHORIZED


class AuthCommand(CommandSchema):
    token = Text(required=True, strip=False)


@command("auth", AuthCommand(), roles=ROLES, live_token=False)
async def renew(connection: Connection, message: dict[str, Any]) -> dict[str, Any]:
    user, expires = connection.app[VERIFIED_TOKENS].verify_until(message["token"])
    if (user.id, user.role) != (connection.user.id, connection.user.role):
        raise CloseSocket(CLOSE_UNAUTHORIZED, "TOKEN_USER_CHANGED")
    connection.token_expires = expires
    return {"expires_in": max(0, int(expires - time.time()))}


def close_when_expired(connection: Connection) -> None:
    """For the socket's life: close it once its token has been expired for the grace period
    (a timer re-armed for the renewed token's expiry, not a task per socket)."""
    grace = connection.app[CONFIG].socket_token_grace_seconds

    def check() -> None:
        overdue = time.time() - (connection.token_expires + grace)
        if overdue >= 0:
            connection.close_soon(CLOSE_UNAUTHORIZED, "TOKEN_EXPIRED")
        else:
            connection.set_timer(-overdue, check)

    check()
