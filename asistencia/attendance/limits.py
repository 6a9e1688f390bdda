"""Rate limits as the use cases apply them: per user, in Valkey, 429 with Retry-After past them."""

from __future__ import annotations

from aiohttp import web

from asistencia.appkeys import CONFIG
from asistencia.attendance.refusals import dependencies_required
from asistencia.batching import Batcher
from asistencia.errors import RateLimited
from asistencia.metrics import METRICS
from asistencia.store import rate_limits
from asistencia.store.rate_limits import Limit, Spent
from asistencia.valkey import VALKEY

MINUTE = 60


def joins(app: web.Application) -> Limit:
    return Limit("joins", app[CONFIG].limit_joins_per_minute, MINUTE)


def scans(app: web.Application) -> Limit:
    return Limit("scans", app[CONFIG].limit_scans_per_minute, MINUTE)


def passkey_ceremonies(app: web.Application) -> Limit:
    return Limit("passkey-ceremonies", app[CONFIG].limit_passkey_ceremonies_per_minute, MINUTE)


def socket_connects(app: web.Application) -> Limit:
    return Limit("socket-connects", app[CONFIG].limit_socket_connects_per_minute, MINUTE)


def socket_messages(app: web.Application) -> Limit:
    return Limit("socket-messages", app[CONFIG].limit_socket_messages_per_minute, MINUTE)


async def spend(app: web.Application, limit: Limit, user_id: int, *, batch: Batcher[int, Spent] | None = None) -> None:
    """Count one request of `user_id` under `limit` (through `batch`, a batcher of
    `rate_limits.hit_many` under that limit, when given); RateLimited (429) past it."""
    with dependencies_required():
        spent = await (batch.submit(user_id) if batch is not None else rate_limits.hit(app[VALKEY], limit, user_id))
    if not spent.allowed:
        app[METRICS].rate_limited.labels(limit.name).inc()
        raise RateLimited(f"Too many requests ({limit.name}); try again in {spent.retry_after_seconds} s",
                          retry_after=spent.retry_after_seconds)


async def record_refusal(app: web.Application, session_id: int, user_id: int) -> bool:
    """Whether this uncounted scan refusal is still recorded (row and event) or only counted."""
    cap = app[CONFIG].scan_refusals_recorded_max
    spent = await rate_limits.hit(app[VALKEY], Limit("scan-refusals", cap, 12 * 3600), f"{session_id}:{user_id}")
    if not spent.allowed:
        app[METRICS].scan_refusals_unrecorded.inc()
    return spent.allowed
