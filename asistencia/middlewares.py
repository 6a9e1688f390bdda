"""Request plumbing: client address, request id, access log, errors, security headers."""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid

import aiohttp_jinja2
from aiohttp import web
from aiohttp_remotes import XForwardedFiltered

from asistencia.appkeys import REQUEST_ID, USER
from asistencia.assets import IMMUTABLE
from asistencia.auth import Handler
from asistencia.errors import DEPENDENCY_FAILURES, ApiError, dependency_down
from asistencia.jsoncodec import json_response
from asistencia.metrics import METRICS

log = logging.getLogger("asistencia.access")
errors_log = logging.getLogger("asistencia.errors")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_JSON_PREFIXES = ("/api", "/ws", "/health", "/metrics", "/static")

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"

_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def wants_json(request: web.Request) -> bool:
    return request.path.startswith(_JSON_PREFIXES)


class TrustedProxies:
    """Believe X-Forwarded-For only when the TCP peer is a configured proxy.

    aiohttp-remotes walks the header (skipping trusted hops, right to left);
    this adds the check that the peer itself is trusted, without which any
    client could claim any address.
    """

    def __init__(self, networks) -> None:
        self._networks = tuple(networks)
        self._forwarded = XForwardedFiltered({str(n) for n in self._networks}) if self._networks else None

    def _peer_is_trusted(self, request: web.Request) -> bool:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if not peer:
            return False
        address = ipaddress.ip_address(peer[0])
        return any(address in network for network in self._networks)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._forwarded is None or not self._peer_is_trusted(request):
            return await handler(request)
        try:
            return await self._forwarded.middleware(request, handler)
        except web.HTTPBadRequest:
            return error_response(request, ApiError("Malformed X-Forwarded-For header", code="BAD_FORWARDED_FOR"))


def error_response(request: web.Request, error: ApiError) -> web.StreamResponse:
    if wants_json(request):
        response = json_response(error.to_json(), status=error.status)
    else:
        response = aiohttp_jinja2.render_template(
            "error.html", request, {"code": error.code, "status": error.status}, status=error.status
        )
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _as_api_error(exc: web.HTTPException) -> ApiError:
    code = _HTTP_CODES.get(exc.status, f"HTTP_{exc.status}")
    return ApiError(exc.reason, code=code, status=exc.status)


# What Apache in front accepts by default (LimitRequestLine, LimitRequestFieldSize). aiohttp's
# own parser is set wider (PARSER_LIMITS) so that a request between the two gets the JSON
# error shape from here instead of the parser's plain-text 400.
URL_MAX_BYTES = 8190
HEADER_FIELD_MAX_BYTES = 8190
PARSER_LIMITS = {"max_line_size": 8 * URL_MAX_BYTES, "max_field_size": 8 * HEADER_FIELD_MAX_BYTES}


@web.middleware
async def request_sizes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse an oversize URL (414) or header field (431) in the API's error shape."""
    if len(request.raw_path) > URL_MAX_BYTES:
        raise ApiError(f"The URL is longer than {URL_MAX_BYTES} bytes", code="URL_TOO_LONG", status=414)
    for name, value in request.raw_headers:
        if len(name) + len(value) > HEADER_FIELD_MAX_BYTES:
            raise ApiError(f"A header field is longer than {HEADER_FIELD_MAX_BYTES} bytes",
                           code="HEADER_TOO_LARGE", status=431)
    return await handler(request)


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, error rendering, one access-log line, security headers."""
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    try:
        response = await handler(request)
    except ApiError as exc:
        response = error_response(request, exc)
    except DEPENDENCY_FAILURES as exc:
        errors_log.warning("dependency down: %s: %s", type(exc).__name__, exc,
                           extra={"request_id": request_id, "path": request.path})
        response = error_response(request, dependency_down(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(request, _as_api_error(exc))
    except Exception:
        errors_log.exception("unhandled error", extra={"request_id": request_id, "path": request.path})
        response = error_response(
            request, ApiError(f"Internal server error (request id {request_id})", code="INTERNAL_ERROR", status=500)
        )
    if not response.prepared:
        _secure(request, response, request_id)
    elapsed = time.perf_counter() - started
    request.app[METRICS].observe(request, response.status, elapsed)
    user = request.get(USER)
    log.info(
        "%s %s %s", request.method, request.path, response.status,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status,
            "duration_ms": round(elapsed * 1000, 2),
            "request_id": request_id,
            "user_id": user.id if user else None,
            "remote": request.remote,
        },
    )
    return response


SERVER_NAME = "asistencia"


async def plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: name no framework or Python version (every response, sockets included)."""
    response.headers["Server"] = SERVER_NAME


def _secure(request: web.Request, response: web.StreamResponse, request_id: str) -> None:
    headers = response.headers
    headers["X-Request-Id"] = request_id
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Content-Security-Policy", API_CSP if wants_json(request) else PAGE_CSP)
    if not wants_json(request):
        headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    if request.path.startswith("/api"):
        headers.setdefault("Cache-Control", "no-store")
    elif request.path.startswith("/static/"):
        # Every file there is named after its content (scripts/build-static).
        if response.status in (200, 206, 304):
            headers.setdefault("Cache-Control", IMMUTABLE)
        headers.setdefault("Vary", "Accept-Encoding")
    elif not wants_json(request):
        # Pages name the current build's files: always ask the server again.
        headers.setdefault("Cache-Control", "no-cache")
        _compress_page(response)


# Pages are rendered per request (a few KB); static files come compressed from the build.
COMPRESS_PAGES_FROM_BYTES = 1024


def _compress_page(response: web.StreamResponse) -> None:
    if (isinstance(response, web.Response) and response.content_type == "text/html"
            and response.body is not None and len(response.body) >= COMPRESS_PAGES_FROM_BYTES):
        response.enable_compression()
