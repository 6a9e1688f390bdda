"""What every client call shares: the API's error shape, as an exception."""

from __future__ import annotations

from typing import Any

import aiohttp


class RequestRefused(Exception):
    """The server answered with an API error ({"error": {"code", "message"}})."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


async def decoded(response: aiohttp.ClientResponse) -> Any:
    """The JSON body (None for 204), or RequestRefused for an error answer."""
    body = None if response.status == 204 else await response.json()
    if response.status >= 400:
        error = (body or {}).get("error", {})
        raise RequestRefused(response.status, error.get("code", "UNKNOWN"), error.get("message", ""),
                             error.get("fields"))
    return body
