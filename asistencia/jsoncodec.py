"""JSON on the wire: orjson when it is installed, the standard library otherwise.

Responses, WebSocket messages, events and Valkey values are encoded (and
the server's own JSON decoded) here. orjson is an optional accelerator (the
`fast` extra): several times faster than `json` for these small documents,
with the same compact output for what the server sends (str or int keys,
numbers, strings, lists, objects, null, booleans). Anything orjson refuses
(an integer past 64 bits) goes through the standard library, so a missing
wheel or an odd value changes the speed, never the answer.

Client JSON is not parsed here: `validation.parse_json` bounds it with the
standard parser's hooks.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

try:
    import orjson
except ImportError:  # the pure-Python fallback
    orjson = None

CONTENT_TYPE = "application/json"


def _standard_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


if orjson is not None:
    def dumps_bytes(value: Any) -> bytes:
        try:
            return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # orjson.JSONEncodeError: what the standard library still writes
            return _standard_bytes(value)

    def loads(text: str | bytes) -> Any:
        return orjson.loads(text)
else:
    dumps_bytes = _standard_bytes
    loads = json.loads


def dumps(value: Any) -> str:
    """Compact JSON text (UTF-8 characters as they are, not escaped)."""
    return dumps_bytes(value).decode()


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """`web.json_response` with this module's encoder."""
    return web.Response(body=dumps_bytes(data), status=status, headers=headers, content_type=CONTENT_TYPE,
                        charset="utf-8")


def accelerator() -> str:
    """Which encoder is in use ('orjson' or 'json'), for logs and benchmarks."""
    return "orjson" if orjson is not None else "json"
