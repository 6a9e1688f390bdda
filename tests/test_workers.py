"""`serve --workers N` for real: N processes answer on one port, migrations are applied once,
SIGTERM to the parent stops them all, a worker that dies stops the set with a non-zero exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from asistencia.config import PROJECT_ROOT, Config
from asistencia.migrations import discover
from tests.processes import ROOT, ServerProcess, get_json, server_env

pytestmark = pytest.mark.multiprocess


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _serving_pids(server: ServerProcess, wanted: int, timeout: float = 60.0) -> set[int]:
    """Pids that answer /health (each request a new connection) until `wanted` distinct ones did."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < wanted and time.monotonic() < deadline:
        status, body = get_json(server.url + "/health")
        assert status == 200, body
        seen.add(body["pid"])
    return seen


def _log_lines(server: ServerProcess) -> list[dict]:
    return [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]


def test_two_workers_share_the_port_apply_migrations_once_and_stop_on_sigterm(
        config, empty_database, tmp_path):
    env = server_env(Config(database_url=empty_database, valkey_url=config.valkey_url,
                            valkey_prefix=config.valkey_prefix, jwt_secret=config.jwt_secret,
                            session_key_kek=config.session_key_kek, dev=config.dev))
    server = ServerProcess(env, log_dir=tmp_path, args=("--workers", "2")).start()
    try:
        server.wait_healthy(timeout=60)
        pids = _serving_pids(server, 2)
        assert len(pids) == 2, server.output()
        assert server.process.pid not in pids
        assert {_parent_of(pid) for pid in pids} == {server.process.pid}

        applied = [entry["migration"] for entry in _log_lines(server) if entry["msg"] == "applied migration"]
        assert sorted(applied) == [m.filename for m in discover(PROJECT_ROOT / "migrations")]

        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0, server.output()
        assert not any(_alive(pid) for pid in pids)
    finally:
        server.stop()


def test_a_worker_that_dies_stops_the_others_and_the_parent_exits_non_zero(config, tmp_path):
    server = ServerProcess(server_env(config), log_dir=tmp_path, args=("--workers", "2")).start()
    try:
        server.wait_healthy(timeout=60)
        victim, survivor = sorted(_serving_pids(server, 2))
        os.kill(victim, signal.SIGKILL)
        assert server.process.wait(timeout=30) != 0
        assert not _alive(survivor)
        died = [entry for entry in _log_lines(server) if entry["msg"] == "worker exited; stopping the others"]
        assert [entry["worker"] for entry in died] == [victim]
    finally:
        server.stop()


@pytest.mark.parametrize("workers", ["0", "65", "two"])
def test_workers_out_of_range_is_a_configuration_error(config, workers):
    result = subprocess.run([sys.executable, "-m", "asistencia", "serve", "--workers", workers],
                            env=server_env(config), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "WORKERS" in result.stderr or "--workers" in result.stderr
