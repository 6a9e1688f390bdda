"""`asistencia dev`: find or start PostgreSQL and Valkey, migrate and load demo data (the CLI then serves)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from asistencia.config import Config
from asistencia.demo import DEMO_COURSE, DEMO_USERS, load_demo_data
from asistencia.localservices import database_name, ensure_database, local_services, with_database
from asistencia.tokens import mint_token

DEV_TOKEN_TTL = 12 * 3600


async def _prepare(config: Config) -> None:
    from asistencia.db import connect_when_ready
    from asistencia.migrations import apply_migrations

    pool = await connect_when_ready(config.database_url, maxsize=2, wait_seconds=config.startup_wait_seconds)
    try:
        await apply_migrations(pool, config.migrations_dir)
        await load_demo_data(pool)
    finally:
        pool.close()
        await pool.wait_closed()


def _banner(config: Config) -> str:
    base = f"http://{'localhost' if config.host in ('0.0.0.0', '127.0.0.1') else config.host}:{config.port}"
    lines = [
        "",
        "=" * 72,
        " asistencia DEV MODE: demo data, dev tokens, public JWT secret. Not for production.",
        "=" * 72,
        f" Server:      {base}/",
        f" Health:      {base}/health",
        f" Dev tokens:  POST {base}/api/dev/token  {{\"role\": \"alumno\"|\"profesor\"|\"admin\"}}",
        f" Demo course: {DEMO_COURSE['course_code']} {DEMO_COURSE['course_name']} ({DEMO_COURSE['semester']})",
        "",
        " Tokens valid 12 h (use as 'Authorization: Bearer <token>'):",
    ]
    for user in DEMO_USERS:
        token = mint_token(config, user_id=user.id, username=user.username, role=user.role,
                           full_name=user.full_name, ttl_seconds=DEV_TOKEN_TTL)
        lines.append(f"  {user.role:<8} {user.username:<24} {token}")
    lines += ["", f" Try: curl -H 'Authorization: Bearer <token>' {base}/api/access/state", "=" * 72, ""]
    return "\n".join(lines)


@contextlib.contextmanager
def dev_environment(config: Config, environ: Mapping[str, str], project_root: Path) -> Iterator[Config]:
    """Local PostgreSQL and Valkey (found or started), migrated, with demo data; yields the
    config pointing at them, for the caller to serve, and stops what it started on exit."""
    configured_db = environ.get("DATABASE_URL") or None
    with local_services(project_root, database_url=configured_db,
                        valkey_url=environ.get("VALKEY_URL") or None) as services:
        if configured_db and services.postgres_dsn == configured_db:
            dsn = configured_db
        else:
            dsn = with_database(services.postgres_dsn, database_name(config.database_url))
        ensure_database(dsn)
        config = config.replace(database_url=dsn, valkey_url=services.valkey_url)
        asyncio.run(_prepare(config))
        print(_banner(config), flush=True)
        yield config
