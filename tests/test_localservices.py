"""What `asistencia dev` and the test harness do on a machine with no servers running:
start a private PostgreSQL (as an unprivileged user when we are root) and Valkey."""

from __future__ import annotations

import os
import pwd
import tempfile
from pathlib import Path

import psycopg2
import pytest

from asistencia import localservices
from asistencia.localservices import LocalPostgres, LocalValkey, ServiceUnavailable, valkey_answers

pytestmark = pytest.mark.multiprocess


def test_private_postgres_starts_answers_and_stops():
    # Under /tmp itself: pytest's tmp_path sits in a root-only directory, which the
    # unprivileged user PostgreSQL runs as (when we are root) could not enter.
    base = Path(tempfile.mkdtemp(prefix="asistencia-test-pg-"))
    postgres = LocalPostgres(base, remove_on_stop=True)
    dsn = postgres.start()
    try:
        conn = psycopg2.connect(dsn)
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting('data_directory'), current_user")
            data_dir, user = cur.fetchone()
        conn.close()
        assert data_dir == str(base / "pgdata") and user == "postgres"
        owner = pwd.getpwuid((base / "pgdata").stat().st_uid).pw_name
        if os.geteuid() == 0:
            assert owner != "root", "PostgreSQL refuses to run as root; it must run as another user"
    finally:
        postgres.stop()
    assert not localservices.postgres_answers(dsn, timeout=1)
    assert not base.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands PostgreSQL to another user")
def test_as_root_an_unreachable_directory_is_refused_clearly(tmp_path):
    with pytest.raises(ServiceUnavailable, match="not reachable by user"):
        LocalPostgres(tmp_path / "pg").start()


def test_private_valkey_starts_answers_and_stops(tmp_path):
    valkey = LocalValkey(tmp_path / "valkey", remove_on_stop=True)
    url = valkey.start()
    try:
        assert valkey_answers(url)
        # It requires its password: the same server without it (or with another) refuses.
        assert url.startswith(f"redis://:{valkey.password}@127.0.0.1:")
        assert not valkey_answers(f"redis://127.0.0.1:{valkey.port}/0")
        assert not valkey_answers(f"redis://:wrong@127.0.0.1:{valkey.port}/0")
        assert (tmp_path / "valkey" / "valkey.conf").stat().st_mode & 0o077 == 0
    finally:
        valkey.stop()
    assert not valkey_answers(url, timeout=0.5)


def test_missing_server_binaries_name_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(localservices, "POSTGRES_GLOBS", [])
    with pytest.raises(ServiceUnavailable, match="apt-get install postgresql"):
        LocalPostgres(tmp_path / "pg").start()
    with pytest.raises(ServiceUnavailable, match="valkey-server"):
        LocalValkey(tmp_path / "valkey").start()
