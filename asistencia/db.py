"""The PostgreSQL pool (aiopg) as an application resource, plus transaction helpers.

aiopg stays behind this module and the `store` package: a later move to
another driver touches only those.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import aiopg
import psycopg2
import psycopg2.extras
from aiohttp import web

from asistencia.appkeys import CONFIG, PG_POOL
from asistencia.waiting import wait_until_ready

log = logging.getLogger(__name__)

@contextlib.contextmanager
def _connect_failures() -> Iterator[None]:
    """A failed connection attempt as psycopg2 reports it, on any event loop: uvloop refuses to
    watch the socket of an attempt that already failed (RuntimeError "the handler is closed")
    where asyncio's loop lets psycopg2 raise OperationalError, which the callers handle
    (startup waits, requests answer 503)."""
    try:
        yield
    except RuntimeError as exc:
        if "handler is closed" not in str(exc):
            raise
        raise psycopg2.OperationalError(f"could not connect to PostgreSQL ({exc})") from exc


async def create_pool(dsn: str, *, maxsize: int = 10, minsize: int = 1) -> aiopg.Pool:
    with _connect_failures():
        return await aiopg.create_pool(dsn, minsize=minsize, maxsize=maxsize, timeout=10.0,
                                       pool_recycle=600)


async def connect_when_ready(dsn: str, *, maxsize: int, wait_seconds: float) -> aiopg.Pool:
    """Create the pool, retrying with backoff for up to `wait_seconds`."""

    async def attempt() -> aiopg.Pool:
        pool = await create_pool(dsn, maxsize=maxsize)
        try:
            async with pool.acquire() as conn, conn.cursor() as cur:
                await cur.execute("SELECT 1")
        except BaseException:
            pool.close()
            await pool.wait_closed()
            raise
        return pool

    return await wait_until_ready("PostgreSQL", describe_dsn(dsn), attempt, wait_seconds,
                                  (psycopg2.OperationalError, OSError), permanent=refused_for_good)


# What PostgreSQL says when the server is up but will never take this DSN: waiting cannot help.
_PERMANENT_REFUSALS = ("does not exist", "authentication failed", "no pg_hba.conf entry",
                       "permission denied", "password authentication")


def refused_for_good(exc: BaseException) -> bool:
    return isinstance(exc, psycopg2.OperationalError) and any(text in str(exc) for text in _PERMANENT_REFUSALS)


def describe_dsn(dsn: str) -> str:
    """The DSN without its password, for logs and error messages."""
    params = psycopg2.extensions.parse_dsn(dsn)
    host = params.get("host", "localhost")
    return f"{params.get('user', '')}@{host}:{params.get('port', 5432)}/{params.get('dbname', '')}"


async def pg_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    pool = await connect_when_ready(config.database_url, maxsize=config.database_pool_max,
                                    wait_seconds=config.startup_wait_seconds)
    app[PG_POOL] = pool
    yield
    pool.close()
    try:
        await asyncio.wait_for(pool.wait_closed(), timeout=config.shutdown_timeout_seconds)
    except asyncio.TimeoutError:
        log.warning("PostgreSQL pool still had busy connections at shutdown; terminating them")
        await pool.clear()


@contextlib.asynccontextmanager
async def connection(pool: aiopg.Pool) -> AsyncIterator[aiopg.Connection]:
    """A pooled connection; one that broke (server restarted, network cut) is closed, not returned
    to the pool, so the next request after PostgreSQL comes back gets a fresh one."""
    with _connect_failures():
        conn = await pool.acquire()
    try:
        yield conn
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        conn.close()
        raise
    finally:
        await pool.release(conn)


@contextlib.asynccontextmanager
async def transaction(pool: aiopg.Pool) -> AsyncIterator[aiopg.Cursor]:
    """A cursor inside BEGIN … COMMIT (rolled back on any exception)."""
    async with connection(pool) as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        async with cur.begin():
            yield cur


@contextlib.asynccontextmanager
async def cursor(pool: aiopg.Pool) -> AsyncIterator[aiopg.Cursor]:
    """An autocommit cursor returning rows as dicts, for single statements."""
    async with connection(pool) as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        yield cur
