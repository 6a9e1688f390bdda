"""Validation at the edge: request bodies and WebSocket messages through marshmallow.

Client JSON goes through `parse_json`, which bounds what the standard parser
would otherwise choke on (nesting that overflows the stack, integers past
Python's 4,300-digit conversion limit) and refuses strings no column or
encoder can hold (NUL, lone surrogates). Every string field is a `Text`,
which refuses the same in query strings and paths.
"""

from __future__ import annotations

import json
import re
from typing import Any

import marshmallow
from aiohttp import web
from marshmallow import fields, validate

from asistencia.errors import BadRequest, ValidationFailed

MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 40
BIGINT_MAX = 2**63 - 1
ID_RANGE = validate.Range(min=1, max=BIGINT_MAX)
USER_ID_RANGE = validate.Range(min=0, max=BIGINT_MAX)

_STRING_LITERALS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
# After parsing, a surrogate code point is always a lone one (pairs are joined).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class _Refused(ValueError):
    pass


def _nesting_within_limit(text: str) -> bool:
    depth = 0
    for bracket in _BRACKETS.findall(_STRING_LITERALS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return False
    return True


def _number(kind):
    def parse(literal: str):
        if len(literal) > MAX_NUMBER_CHARS:
            raise _Refused(f"a number longer than {MAX_NUMBER_CHARS} characters")
        return kind(literal)

    return parse


def _no_constants(name: str):
    raise _Refused(f"{name} is not JSON")


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            raise _Refused("a string with a NUL character or a lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def parse_json(text: str | bytes) -> Any:
    """Client JSON, parsed within limits; BadRequest (INVALID_JSON) otherwise."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        if not _nesting_within_limit(text):
            raise _Refused(f"nested deeper than {MAX_JSON_DEPTH}")
        value = json.loads(text, parse_int=_number(int), parse_float=_number(float),
                           parse_constant=_no_constants)
        _check_strings(value)
    except _Refused as exc:
        raise BadRequest(f"The JSON is refused: {exc}", code="INVALID_JSON") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise BadRequest("The body is not valid JSON (UTF-8)", code="INVALID_JSON") from None
    return value


class Text(fields.String):
    """A string PostgreSQL and UTF-8 can hold (no NUL, no lone surrogate), stripped unless `strip=False`."""

    def __init__(self, *args, strip: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._strip = strip

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if _UNSTORABLE.search(text):
            raise marshmallow.ValidationError("Must not contain NUL characters or lone surrogates.")
        return text.strip() if self._strip else text


class StrictBoolean(fields.Boolean):
    """JSON `true` or `false` only: no 0/1 or "true" strings standing in for them."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def load(schema: marshmallow.Schema, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("Expected a JSON object", fields={"_schema": ["Expected a JSON object."]})
    try:
        return schema.load(data)
    except marshmallow.ValidationError as exc:
        raise ValidationFailed(fields=exc.normalized_messages()) from None


async def read_json(request: web.Request, schema: marshmallow.Schema) -> dict[str, Any]:
    """The request body, parsed and validated; 400 with field details otherwise."""
    data: Any = parse_json(await request.read()) if request.can_read_body else {}
    return load(schema, data)


def load_query(request: web.Request, schema: marshmallow.Schema) -> dict[str, Any]:
    return load(schema, dict(request.query))
