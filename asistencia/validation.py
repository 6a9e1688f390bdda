"""Validation at the edge: request bodies and WebSocket messages through marshmallow."""

from __future__ import annotations

import json
from typing import Any

import marshmallow
from aiohttp import web

from asistencia.errors import BadRequest, ValidationFailed


def load(schema: marshmallow.Schema, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("Expected a JSON object", fields={"_schema": ["Expected a JSON object."]})
    try:
        return schema.load(data)
    except marshmallow.ValidationError as exc:
        raise ValidationFailed(fields=exc.normalized_messages()) from None


async def read_json(request: web.Request, schema: marshmallow.Schema) -> dict[str, Any]:
    """The request body, parsed and validated; 400 with field details otherwise."""
    if not request.can_read_body:
        data: Any = {}
    else:
        try:
            data = json.loads(await request.text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest("The body is not valid JSON", code="INVALID_JSON") from None
    return load(schema, data)


def load_query(request: web.Request, schema: marshmallow.Schema) -> dict[str, Any]:
    return load(schema, dict(request.query))
