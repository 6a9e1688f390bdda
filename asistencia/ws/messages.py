"""Builders for what the server sends; every outgoing message has a `type`."""

from __future__ import annotations

from typing import Any

from asistencia.errors import ApiError


def auth_ok(user, expires_in: float) -> dict[str, Any]:
    """`expires_in`: seconds until the token stops counting for commands that change state."""
    return {"type": "auth_ok", "user": {"id": user.id, "username": user.username, "role": user.role},
            "expires_in": max(0, int(expires_in))}


def result(msg_id: int | None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "result", "id": msg_id, "data": data or {}}


def error(msg_id: int | None, exc: ApiError) -> dict[str, Any]:
    message = {"type": "error", "id": msg_id, **exc.to_json()}
    if exc.retry_after is not None:
        message["retry_after"] = exc.retry_after
    return message


def event(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "event": name, "data": data}
