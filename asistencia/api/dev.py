"""Dev-mode conveniences. These routes exist only when ASISTENCIA_DEV=1."""

from __future__ import annotations

import time

from aiohttp import web
from marshmallow import Schema, fields, validate

from asistencia.appkeys import CONFIG
from asistencia.demo import DEMO_USERS
from asistencia.jsoncodec import json_response
from asistencia.openapi import documented
from asistencia.tokens import ROLES, mint_token
from asistencia.validation import USER_ID_RANGE, Text, read_json


class DevTokenRequest(Schema):
    role = Text(strip=False, load_default="alumno", validate=validate.OneOf(ROLES))
    user_id = fields.Integer(load_default=None, validate=USER_ID_RANGE)
    username = Text(strip=False, load_default=None, validate=validate.Length(min=1, max=200))
    full_name = Text(strip=False, load_default=None, validate=validate.Length(max=200))
    ttl_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1, max=86400))


@documented(body=DevTokenRequest)
async def dev_token(request: web.Request) -> web.Response:
    """Mint a token shaped like the PHP bridge's (dev mode only).

    Without `user_id`, the first demo user of the role; a demo user's id brings their RUT/e-mail
    and name. `ttl_seconds` lets tests make short-lived tokens.
    """
    body = await read_json(request, DevTokenRequest())
    if body["user_id"] is None:
        demo = next(user for user in DEMO_USERS if user.role == body["role"])
    else:
        demo = next((user for user in DEMO_USERS if user.id == body["user_id"]), None)
    user_id = demo.id if demo else body["user_id"]
    username = body["username"] or (demo.username if demo else f"user{user_id}")
    full_name = body["full_name"] or (demo.full_name if demo else None)
    token = mint_token(request.app[CONFIG], user_id=user_id, username=username, role=body["role"],
                       full_name=full_name, ttl_seconds=body["ttl_seconds"])
    return json_response({"token": token, "expires_at": int(time.time()) + body["ttl_seconds"]})
