"""The one error vocabulary: every refusal is an ApiError with a code and a status.

REST renders it as {"error": {"code", "message"[, "fields"]}}; the WebSocket
speaks the same codes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg2
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class ApiError(Exception):
    status = 400
    code = "BAD_REQUEST"
    message = "Bad request"

    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 status: int | None = None, fields: dict[str, Any] | None = None,
                 retry_after: int | None = None) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.fields = fields
        self.retry_after = retry_after or self.retry_after
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields is not None:
            body["fields"] = self.fields
        return {"error": body}


class BadRequest(ApiError):
    status, code, message = 400, "BAD_REQUEST", "Bad request"


class ValidationFailed(ApiError):
    status, code, message = 400, "VALIDATION_FAILED", "Some fields are invalid"


class Unauthorized(ApiError):
    status, code, message = 401, "UNAUTHORIZED", "Authentication required"


class Forbidden(ApiError):
    status, code, message = 403, "FORBIDDEN", "Not allowed"


class NotFound(ApiError):
    status, code, message = 404, "NOT_FOUND", "Not found"


class Conflict(ApiError):
    status, code, message = 409, "CONFLICT", "Conflict"


class Gone(ApiError):
    status, code, message = 410, "GONE", "Expired"


class Refused(ApiError):
    """A well-formed request the domain refuses (422)."""

    status, code, message = 422, "REFUSED", "Refused"


class RateLimited(ApiError):
    status, code, message = 429, "RATE_LIMITED", "Too many requests"


class DependencyDown(ApiError):
    status, code, message = 503, "DEPENDENCY_DOWN", "A dependency is unavailable"
    retry_after = 2


# PostgreSQL or Valkey unreachable (or a pool that waited too long for them): the
# request may succeed when retried, so these become DependencyDown wherever they surface.
DEPENDENCY_FAILURES = (psycopg2.OperationalError, psycopg2.InterfaceError,
                       RedisConnectionError, RedisTimeoutError, asyncio.TimeoutError)


def dependency_down(exc: BaseException) -> DependencyDown:
    return DependencyDown(f"A dependency is unavailable ({type(exc).__name__}); try again")
