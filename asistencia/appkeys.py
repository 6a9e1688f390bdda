"""Every piece of application and request state, as typed keys, in one place."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import aiopg
from aiohttp import web

from asistencia.config import Config
from asistencia.tokens import User, VerifiedTokens

if TYPE_CHECKING:
    from asistencia.assets import Assets
    from asistencia.attendance.frame_clock import FrameClocks
    from asistencia.attendance.scan_batches import ScanBatches
    from asistencia.events import EventHub
    from asistencia.metrics import Metrics
    from asistencia.store.qr_pool import QrPool
    from asistencia.valkey import Valkey

CONFIG = web.AppKey("config", Config)
VERIFIED_TOKENS = web.AppKey("verified_tokens", VerifiedTokens)
PG_POOL = web.AppKey("pg_pool", aiopg.Pool)
VALKEY: web.AppKey[Valkey] = web.AppKey("valkey")
EVENTS: web.AppKey[EventHub] = web.AppKey("events")
QR_POOL: web.AppKey[QrPool] = web.AppKey("qr_pool")
FRAME_CLOCKS: web.AppKey[FrameClocks] = web.AppKey("frame_clocks")
SCAN_BATCHES: web.AppKey[ScanBatches] = web.AppKey("scan_batches")
STARTED_AT = web.AppKey("started_at", float)
OPENAPI = web.AppKey("openapi", dict)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
ASSETS: web.AppKey[Assets] = web.AppKey("assets")
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")

REQUEST_ID = web.RequestKey("request_id", str)
USER = web.RequestKey("user", User)
