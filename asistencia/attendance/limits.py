"""Rate limits as the use cases apply them: in Valkey, 429 with Retry-After past them.

Keyed by user wherever there is one (a class behind one NAT address is many
users); by address only for what comes before any user is known: tokens
refused for a reason an honest page never produces.
"""

from __future__ import annotations

import logging

from aiohttp import web
from redis.exceptions import RedisError

from asistencia.appkeys import CONFIG
from asistencia.attendance.refusals import dependencies_required
from asistencia.batching import Batcher
from asistencia.errors import RateLimited
from asistencia.metrics import METRICS
from asistencia.store import rate_limits
from asistencia.store.rate_limits import Limit, Spent
from asistencia.tokens import TokenError
from asistencia.valkey import VALKEY

log = logging.getLogger(__name__)

MINUTE = 60
# A page whose token ran out (or a phone whose clock is off) sends these; they say nothing of forgery.
HONEST_TOKEN_REFUSALS = frozenset({"TOKEN_EXPIRED", "TOKEN_NOT_YET_VALID"})


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


def forged_tokens(app: web.Application) -> Limit:
    return Limit("forged-tokens", app[CONFIG].limit_forged_tokens_per_minute, MINUTE)


async def spend(app: web.Application, limit: Limit, user_id: int, *, batch: Batcher[int, Spent] | None = None) -> None:
    """Count one request of `user_id` under `limit` (through `batch`, a batcher of
    `rate_limits.hit_many` under that limit, when given); RateLimited (429) past it."""
    with dependencies_required():
        spent = await (batch.submit(user_id) if batch is not None else rate_limits.hit(app[VALKEY], limit, user_id))
    if not spent.allowed:
        app[METRICS].rate_limited.labels(limit.name).inc()
        raise RateLimited(f"Too many requests ({limit.name}); try again in {spent.retry_after_seconds} s",
                          retry_after=spent.retry_after_seconds)


async def refused_token(app: web.Application, remote: str | None, refused: TokenError) -> None:
    """Count a token refused for forgery-like reasons against its address; RateLimited past the limit.

    Fails open: with Valkey down the caller still answers 401, which is what the token deserves.
    """
    if refused.code in HONEST_TOKEN_REFUSALS:
        return
    try:
        spent = await rate_limits.hit(app[VALKEY], forged_tokens(app), remote or "-")
    except RedisError:
        log.warning("could not count a refused token", extra={"remote": remote})
        return
    if not spent.allowed:
        app[METRICS].rate_limited.labels("forged-tokens").inc()
        raise RateLimited(f"Too many refused tokens from this address; try again in {spent.retry_after_seconds} s",
                          retry_after=spent.retry_after_seconds)


@web.middleware
async def forged_tokens_by_address(request: web.Request, handler) -> web.StreamResponse:
    """Outside `authentication`: a flood of forged tokens from one address ends in 429, not 401."""
    try:
        return await handler(request)
    except TokenError as refused:
        await refused_token(request.app, request.remote, refused)
        raise


def _scan_refusals(app: web.Application) -> Limit:
    # Kept a week, so the fraud report still shows a flood when the professor looks the day after.
    return Limit("scan-refusals", app[CONFIG].scan_refusals_recorded_max, 7 * 24 * 3600)


async def record_refusal(app: web.Application, session_id: int, user_id: int) -> bool:
    """Whether this uncounted scan refusal is still recorded (row and event) or only counted."""
    spent = await rate_limits.hit(app[VALKEY], _scan_refusals(app), f"{session_id}:{user_id}")
    if not spent.allowed:
        app[METRICS].scan_refusals_unrecorded.inc()
    return spent.allowed


async def unrecorded_refusals(app: web.Application, session_id: int, user_ids: list[int]) -> dict[int, int]:
    """Per student, the refusals past the recording cap: counted here only, no row and no event."""
    limit = _scan_refusals(app)
    with dependencies_required():
        hits = await rate_limits.hits_of(app[VALKEY], limit, [f"{session_id}:{uid}" for uid in user_ids])
    return {uid: n - limit.allowed for uid, n in zip(user_ids, hits) if n > limit.allowed}
