"""Migrations: in order, once, checksummed, serialised across concurrent starters."""

from __future__ import annotations

import asyncio
import shutil

import psycopg2
import pytest

from asistencia.config import PROJECT_ROOT
from asistencia.db import create_pool
from asistencia.migrations import MigrationError, apply_migrations, discover
from tests.processes import ServerProcess, server_env


def _rows(url, sql):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


@pytest.fixture
def migrations_copy(tmp_path):
    target = tmp_path / "migrations"
    shutil.copytree(PROJECT_ROOT / "migrations", target)
    return target


async def _apply(url, directory):
    pool = await create_pool(url, maxsize=2)
    try:
        return await apply_migrations(pool, directory)
    finally:
        pool.close()
        await pool.wait_closed()


async def test_apply_once_then_idempotent(empty_database, migrations_copy):
    files = [m.filename for m in discover(migrations_copy)]
    assert await _apply(empty_database, migrations_copy) == files
    assert await _apply(empty_database, migrations_copy) == []
    recorded = _rows(empty_database, "SELECT version FROM schema_migrations ORDER BY version")
    assert [v for (v,) in recorded] == [m.version for m in discover(migrations_copy)]


async def test_new_migration_applies_after_existing_ones(empty_database, migrations_copy):
    await _apply(empty_database, migrations_copy)
    (migrations_copy / "9999_extra.sql").write_text("CREATE TABLE extra_thing (id int);")
    assert await _apply(empty_database, migrations_copy) == ["9999_extra.sql"]
    assert _rows(empty_database, "SELECT count(*) FROM extra_thing") == [(0,)]


async def test_changed_applied_file_stops_startup(empty_database, migrations_copy):
    await _apply(empty_database, migrations_copy)
    first = sorted(migrations_copy.glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- sneaky edit\n")
    with pytest.raises(MigrationError, match=f"{first.name} was changed after it was applied"):
        await _apply(empty_database, migrations_copy)


async def test_failed_migration_rolls_back_entirely(empty_database, migrations_copy):
    await _apply(empty_database, migrations_copy)
    (migrations_copy / "9998_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT * FROM nope;")
    with pytest.raises(psycopg2.errors.UndefinedTable):
        await _apply(empty_database, migrations_copy)
    assert _rows(empty_database, "SELECT to_regclass('half_done')") == [(None,)]
    assert _rows(empty_database, "SELECT count(*) FROM schema_migrations WHERE version = 9998") == [(0,)]


def test_badly_named_file_is_refused(migrations_copy):
    (migrations_copy / "2_oops.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        discover(migrations_copy)


async def test_concurrent_in_process_starters_apply_once(empty_database, migrations_copy):
    results = await asyncio.gather(*(_apply(empty_database, migrations_copy) for _ in range(4)))
    assert sorted(len(r) for r in results) == [0, 0, 0, len(discover(migrations_copy))]


@pytest.mark.multiprocess
def test_two_servers_starting_at_once_on_an_empty_database(empty_database, config, tmp_path):
    env = server_env(config.replace(database_url=empty_database))
    servers = [ServerProcess(env, log_dir=tmp_path).start() for _ in range(2)]
    try:
        for server in servers:
            server.wait_healthy()
        logs = [server.output() for server in servers]
    finally:
        for server in servers:
            server.stop()
    count = len(discover(PROJECT_ROOT / "migrations"))
    assert _rows(empty_database, "SELECT count(*) FROM schema_migrations") == [(count,)]
    applied = sum(log.count('"applied migration"') for log in logs)
    assert applied == count, logs


async def test_drafts_migration_keeps_existing_sessions_as_they_were(empty_database, migrations_copy, tmp_path):
    """0045 on a database with active, closed and cancelled sessions: each opened when it was made."""
    before = tmp_path / "before_drafts"
    before.mkdir()
    for migration in discover(migrations_copy):
        if migration.version < 45:
            shutil.copy(migrations_copy / migration.filename, before)
    await _apply(empty_database, before)
    conn = psycopg2.connect(empty_database)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO users (id, username, role) VALUES (1, 'p@usm.cl', 'profesor')")
            cur.execute("""
                INSERT INTO class_sessions (professor_id, course_code, course_name, join_code, status, created_at,
                                            ends_at, closed_at, cancelled_at, cancelled_by, cancel_reason)
                VALUES (1, 'A', 'A', 'AAAAAA', 'active', now() - interval '5 min', now() + interval '10 min',
                        NULL, NULL, NULL, NULL),
                       (1, 'A', 'A', 'BBBBBB', 'closed', now() - interval '1 day', now() - interval '1 day',
                        now() - interval '1 day', NULL, NULL, NULL),
                       (1, 'A', 'A', 'CCCCCC', 'cancelled', now() - interval '2 days', now() - interval '2 days',
                        now() - interval '2 days', now(), 1, 'error')""")
    finally:
        conn.close()
    assert (await _apply(empty_database, migrations_copy))[0] == "0045_session_drafts.sql"
    assert _rows(empty_database, "SELECT join_code, status, opened_at = created_at FROM class_sessions "
                                 "ORDER BY join_code") == [
        ("AAAAAA", "active", True), ("BBBBBB", "closed", True), ("CCCCCC", "cancelled", True)]
    # The active session's code stays reserved: a draft cannot take it.
    with pytest.raises(psycopg2.errors.UniqueViolation):
        _rows(empty_database, "INSERT INTO class_sessions (professor_id, course_code, course_name, join_code, "
                              "status, opened_at) VALUES (1, 'B', 'B', 'AAAAAA', 'draft', NULL) RETURNING id")
