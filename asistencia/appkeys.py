"""Typed keys of application and request state whose values need nothing above this module.

A key whose value is one of our classes that itself uses app state is declared
beside that class instead (`VALKEY` in `valkey.py`, `EVENTS` in `events.py`,
`QR_POOL` in `store/qr_pool.py`, `FRAME_CLOCKS` and `SCAN_BATCHES` in their
`attendance/` modules, `METRICS` in `metrics.py`, `ASSETS` in `assets.py`), as aiohttp's docs do: a keys
module importing those classes would import its own importers.
"""

from __future__ import annotations

import weakref

import aiopg
from aiohttp import web

from asistencia.config import Config
from asistencia.tokens import User, VerifiedTokens

CONFIG = web.AppKey("config", Config)
VERIFIED_TOKENS = web.AppKey("verified_tokens", VerifiedTokens)
PG_POOL = web.AppKey("pg_pool", aiopg.Pool)
STARTED_AT = web.AppKey("started_at", float)
OPENAPI = web.AppKey("openapi", dict)
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")

REQUEST_ID = web.RequestKey("request_id", str)
USER = web.RequestKey("user", User)
