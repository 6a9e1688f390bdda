"""The application factory: wiring only, no I/O."""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from asistencia.appkeys import CONFIG, STARTED_AT, VERIFIED_TOKENS, WEBSOCKETS
from asistencia.assets import load_assets
from asistencia.attendance import limits
from asistencia.attendance.frame_clock import frame_clocks_ctx
from asistencia.attendance.scan_batches import scan_batches_ctx
from asistencia.auth import authentication
from asistencia.background import auto_close_ctx
from asistencia.config import Config
from asistencia.db import pg_pool_ctx
from asistencia.events import events_ctx
from asistencia.i18n import load_catalog
from asistencia.metrics import METRICS, create_metrics
from asistencia.middlewares import PARSER_LIMITS, TrustedProxies, plain_server_header, request_context, request_sizes
from asistencia.migrations import migrations_ctx
from asistencia.openapi import openapi_ctx
from asistencia.pages import setup_templates
from asistencia.routes import setup_routes
from asistencia.store.qr_pool import qr_pool_ctx
from asistencia.store.shared_frames import shared_frames_ctx
from asistencia.tokens import VerifiedTokens
from asistencia.valkey import valkey_ctx
from asistencia.ws.caps import SOCKET_CAPS, SocketCaps
from asistencia.ws.endpoint import close_all

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


async def _announce_dev_mode(app: web.Application) -> None:
    log.warning(
        "DEV MODE IS ON (ASISTENCIA_DEV=1): /api/dev/token mints tokens for anyone, the JWT secret "
        "may be the public default and demo data may be loaded. Never run this in production."
    )


def _in_order(*contexts: Callable[[web.Application], AsyncIterator[None]]):
    """One cleanup context of several: if one fails to start, those already started are torn
    down at once (run_app does not clean up after a failed startup: the PostgreSQL pool would
    be left open when Valkey is unreachable)."""

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # aclose() exits each context as a normal teardown (their code after `yield` runs).
        stack = contextlib.AsyncExitStack()
        try:
            for context in contexts:
                await stack.enter_async_context(contextlib.asynccontextmanager(context)(app))
        except BaseException:
            await stack.aclose()
            raise
        yield
        await stack.aclose()

    return resources


def create_app(config: Config) -> web.Application:
    app = web.Application(
        middlewares=[TrustedProxies(config.trusted_proxies).middleware, request_context, request_sizes,
                     limits.forged_tokens_by_address, authentication],
        client_max_size=MAX_BODY_BYTES,
        handler_args=PARSER_LIMITS,
    )
    app[CONFIG] = config
    app[VERIFIED_TOKENS] = VerifiedTokens(config)
    app[STARTED_AT] = time.monotonic()
    app[WEBSOCKETS] = weakref.WeakSet()
    app[SOCKET_CAPS] = SocketCaps(per_user=config.sockets_per_user, per_address=config.sockets_per_address)
    app[METRICS] = create_metrics(app)
    setup_templates(app, load_catalog("es-CL"))
    # Dependency order: teardown runs in reverse.
    app.cleanup_ctx.append(_in_order(openapi_ctx, pg_pool_ctx, migrations_ctx, valkey_ctx, events_ctx,
                                     qr_pool_ctx, shared_frames_ctx, frame_clocks_ctx, auto_close_ctx, scan_batches_ctx))
    app.on_startup.append(load_assets)
    app.on_response_prepare.append(plain_server_header)
    app.on_shutdown.append(close_all)
    if config.dev:
        app.on_startup.append(_announce_dev_mode)
    setup_routes(app, config)
    return app
