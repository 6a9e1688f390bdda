"""The command table: `@command(type, schema, roles)` binds a message type to its handler.

Handlers are `async def handler(connection, message) -> dict | None`; what they
return is sent back as the `result` for the message's `id`. Handler modules
register themselves on import; `asistencia.ws.endpoint` imports them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import marshmallow

from asistencia.validation import Text

if TYPE_CHECKING:
    from asistencia.ws.connection import Connection

CommandHandler = Callable[["Connection", dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclasses.dataclass(frozen=True)
class Command:
    type: str
    schema: marshmallow.Schema
    roles: tuple[str, ...]
    handler: CommandHandler
    # Refused once the socket's token has expired (until the page sends a fresh one with `auth`).
    live_token: bool


COMMANDS: dict[str, Command] = {}


def command(type_: str, schema: marshmallow.Schema, roles: tuple[str, ...], *, live_token: bool = True):
    def register(handler: CommandHandler) -> CommandHandler:
        if type_ in COMMANDS:
            raise RuntimeError(f"WebSocket command {type_!r} registered twice")
        COMMANDS[type_] = Command(type_, schema, roles, handler, live_token)
        return handler

    return register


class CommandSchema(marshmallow.Schema):
    """Every client message carries its `type` and may carry an `id` echoed in the reply."""

    type = Text(required=True, strip=False)
    id = marshmallow.fields.Integer(load_default=None, strict=True)
