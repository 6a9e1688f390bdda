"""Test harness: real PostgreSQL and Valkey, found or started, clean data per test.

Servers: $DATABASE_URL / $VALKEY_URL when they answer, else the 127.0.0.1
defaults, else private throwaway servers. Each test run gets its own
database and its own Valkey key prefix, so runs can share the servers.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable

import psycopg2
import pytest
import redis
import redis.utils

from asistencia import jsoncodec
from asistencia.app import create_app
from asistencia.config import PROJECT_ROOT, Config
from asistencia.localservices import drop_database, ensure_database, local_services, with_database
from asistencia.tokens import mint_token

TEST_SECRET = "test-secret-" + "x" * 40
# Generated for this test run, as a deployment generates its own.
TEST_KEK = secrets.token_bytes(32)


def _accelerators() -> dict[str, bool]:
    """The optional accelerators (the `fast` extra) this interpreter has."""
    return {"orjson": jsoncodec.accelerator() == "orjson", "hiredis": bool(redis.utils.HIREDIS_AVAILABLE)}


def pytest_report_header(config) -> str:
    return "accelerators: " + ", ".join(f"{name} {'yes' if found else 'no'}" for name, found in _accelerators().items())


def pytest_configure(config) -> None:
    """scripts/test-without-accelerators asks for none: a run that still has one proves nothing."""
    found = [name for name, present in _accelerators().items() if present]
    if os.environ.get("ASISTENCIA_TEST_ACCELERATORS") == "none" and found:
        raise pytest.UsageError(f"ASISTENCIA_TEST_ACCELERATORS=none but {', '.join(found)} can be imported")


@pytest.fixture(scope="session")
def services():
    with local_services(PROJECT_ROOT, database_url=os.environ.get("DATABASE_URL") or None,
                        valkey_url=os.environ.get("VALKEY_URL") or None, ephemeral=True) as found:
        yield found


@pytest.fixture(scope="session")
def database_url(services) -> str:
    url = with_database(services.postgres_dsn, f"asistencia_test_{os.getpid()}_{secrets.token_hex(3)}")
    ensure_database(url)
    yield url
    drop_database(url)


@pytest.fixture
def empty_database(services) -> str:
    """A database of its own with nothing in it, not even the migrations (dropped after the test)."""
    url = with_database(services.postgres_dsn, f"asistencia_empty_{secrets.token_hex(4)}")
    ensure_database(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def valkey_url(services) -> str:
    return services.valkey_url


@pytest.fixture(scope="session")
def valkey_prefix() -> str:
    return f"asistencia-test-{secrets.token_hex(4)}:"


@pytest.fixture(scope="session")
def migrated(database_url) -> str:
    from asistencia.cli import _migrate

    asyncio.run(_migrate(Config(database_url=database_url, startup_wait_seconds=5)))
    return database_url


def _truncate_all(database_url: str) -> None:
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename <> 'schema_migrations'")
            tables = [row[0] for row in cur.fetchall()]
            if tables:
                cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    finally:
        conn.close()


def _flush_prefix(valkey_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(valkey_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


@pytest.fixture
def clean_state(migrated, valkey_url, valkey_prefix):
    """Each test starts from empty tables and an empty key space."""
    _truncate_all(migrated)
    _flush_prefix(valkey_url, valkey_prefix)


@pytest.fixture
def config(clean_state, migrated, valkey_url, valkey_prefix) -> Config:
    return Config(
        database_url=migrated,
        database_pool_max=10,
        valkey_url=valkey_url,
        valkey_prefix=valkey_prefix,
        jwt_secret=TEST_SECRET,
        session_key_kek=TEST_KEK,
        # Replacing a phone counts at once unless a test asks for the cool-off (test_device_replacement).
        device_cool_off_hours=0,
        dev=False,
        startup_wait_seconds=5,
        shutdown_timeout_seconds=2,
    )


@pytest.fixture
def make_client(aiohttp_client) -> Callable[[Config], Awaitable]:
    """Start an app for `config` on a real socket and return a test client."""

    async def make(config: Config, **kwargs):
        return await aiohttp_client(create_app(config), **kwargs)

    return make


@pytest.fixture
async def client(make_client, config):
    return await make_client(config)


@pytest.fixture
def token(config) -> Callable[..., str]:
    """Mint a bridge-shaped token: token("alumno", user_id=7)."""

    def mint(role: str = "alumno", *, user_id: int = 1000, username: str | None = None,
             full_name: str | None = None, ttl_seconds: int = 300) -> str:
        return mint_token(config, user_id=user_id, username=username or f"user-{user_id}",
                          role=role, full_name=full_name, ttl_seconds=ttl_seconds)

    return mint


@pytest.fixture
def pg(migrated):
    """A plain psycopg2 connection to read state back (autocommit)."""
    conn = psycopg2.connect(migrated)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
async def valkey(config):
    """A Valkey client in the test's key space (for reading pool state back)."""
    from asistencia.valkey import Valkey, create_client

    vk = Valkey(create_client(config.valkey_url, client_name="asistencia-test"), config.valkey_prefix)
    yield vk
    await vk.client.aclose()


@pytest.fixture
async def ready_student(make_client, config, token):
    """Make a READY student (passkey enrolled, device logged in): `await ready_student(user_id=…)`.

    Goes through the real enrollment and login endpoints of a server sharing
    the test's database and key space (tests/students.py).
    """
    from asistencia.tokens import User
    from tests.students import make_ready

    device_server = []

    async def make(user_id: int, *, full_name: str | None = None):
        if not device_server:
            device_server.append(await make_client(config))
        user = User(user_id, f"rut-{user_id}", "alumno", full_name or f"Estudiante {user_id}")
        return await make_ready(device_server[0], config, user,
                                token("alumno", user_id=user_id, username=user.username, full_name=user.full_name))

    return make
