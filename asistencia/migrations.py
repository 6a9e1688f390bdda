"""Raw SQL migrations: `migrations/NNNN_name.sql`, applied in order, once.

Each file runs in its own transaction and is recorded with its SHA-256. A
file changed after it was applied stops startup. Concurrent starters
serialise on a PostgreSQL advisory lock, so exactly one applies each file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiopg
from aiohttp import web

from asistencia.appkeys import CONFIG, PG_POOL

log = logging.getLogger(__name__)

# Arbitrary constant identifying "asistencia schema migrations" among advisory locks.
ADVISORY_LOCK_KEY = 0x61736973_74656E63 & 0x7FFFFFFFFFFFFFFF
FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def discover(directory: Path) -> list[Migration]:
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist (set MIGRATIONS_DIR)")
    found: dict[int, Migration] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files must be named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version:04d} is used twice")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def apply_migrations(pool: aiopg.Pool, directory: Path) -> list[str]:
    """Apply pending migrations; return the filenames applied by this call."""
    migrations = discover(directory)
    applied_now: list[str] = []
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            await cur.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            await cur.execute("SELECT version, name, checksum FROM schema_migrations")
            done = {version: (name, checksum) for version, name, checksum in await cur.fetchall()}
            for migration in migrations:
                if migration.version in done:
                    name, checksum = done[migration.version]
                    if checksum != migration.checksum:
                        raise MigrationError(
                            f"{migration.filename} was changed after it was applied "
                            f"(recorded sha256 {checksum[:12]}…, file now {migration.checksum[:12]}…); "
                            "restore the file and put the change in a new migration"
                        )
                    continue
                async with cur.begin():
                    await cur.execute(migration.sql)
                    await cur.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                log.info("applied migration", extra={"migration": migration.filename})
                applied_now.append(migration.filename)
        finally:
            await cur.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return applied_now


async def migrations_ctx(app: web.Application) -> AsyncIterator[None]:
    await apply_migrations(app[PG_POOL], app[CONFIG].migrations_dir)
    yield
