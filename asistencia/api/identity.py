"""GET /api/me: who the token says the caller is (pages show the name)."""

from __future__ import annotations

from aiohttp import web

from asistencia.auth import current_user, requires_role
from asistencia.jsoncodec import json_response
from asistencia.tokens import ROLES


@requires_role(*ROLES)
async def me(request: web.Request) -> web.Response:
    """Who the token says the caller is."""
    user = current_user(request)
    return json_response({"id": user.id, "username": user.username, "role": user.role,
                              "full_name": user.full_name})
