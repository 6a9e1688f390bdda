"""Who is calling: the middleware that attaches the user and the role guards."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from asistencia.appkeys import USER, VERIFIED_TOKENS
from asistencia.errors import Forbidden, Unauthorized
from asistencia.tokens import TokenError, User

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("Send the token as 'Authorization: Bearer <jwt>'", code="TOKEN_MALFORMED")
    return token.strip()


# Open to anyone: a stray Authorization header (a proxy's Basic credentials) is not read.
UNAUTHENTICATED_PATHS = frozenset({"/health", "/metrics"})  # /metrics checks METRICS_TOKEN itself


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the token's user, if a token was sent; a bad token is refused here."""
    if request.path in UNAUTHENTICATED_PATHS:
        return await handler(request)
    token = bearer_token(request)
    if token is not None:
        request[USER] = request.app[VERIFIED_TOKENS].verify(token)
    return await handler(request)


def current_user(request: web.Request) -> User:
    user = request.get(USER)
    if user is None:
        raise Unauthorized("This endpoint needs a token (Authorization: Bearer <jwt>)", code="TOKEN_MISSING")
    return user


def check_role(user: User, roles: tuple[str, ...]) -> None:
    if user.role not in roles:
        raise Forbidden(f"This needs the role {' or '.join(roles)}", code="ROLE_FORBIDDEN")


def requires_role(*roles: str) -> Callable[[Handler], Handler]:
    """Guard a handler: a token is required and its role must be one of `roles`."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            check_role(current_user(request), roles)
            return await handler(request)

        guarded.__roles__ = roles  # read by asistencia.openapi
        return guarded

    return decorate


STUDENT = ("alumno",)
STAFF = ("profesor", "admin")
