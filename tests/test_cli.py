"""The `asistencia` command as operators use it: real processes, real signals."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import aiohttp
import pytest

from asistencia.config import Config
from asistencia.localservices import drop_database, free_port, with_database
from asistencia.tokens import verify_token
from asistencia.ws import const
from tests.processes import ROOT, ServerProcess, server_env

pytestmark = pytest.mark.multiprocess


def run_cli(*args, env, timeout=60):
    return subprocess.run([sys.executable, "-m", "asistencia", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_serve_without_secret_names_the_variable(config):
    env = server_env(config)
    del env["JWT_SECRET"]
    result = run_cli("serve", env=env)
    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr


@pytest.mark.parametrize("changes", [{}, {"HOST": "0.0.0.0"}])
def test_dev_mode_with_a_real_secret_or_a_public_listener_refuses_to_start(config, changes):
    """ASISTENCIA_DEV=1 with the deployment's secret would mint tokens it accepts: one line, exit 2."""
    env = server_env(config, ASISTENCIA_DEV="1", **changes)
    if changes:
        del env["JWT_SECRET"]
    result = run_cli("serve", env=env, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ASISTENCIA_DEV=1" in lines[0] and "refusing to start" in lines[0]


def test_serve_gives_up_on_unreachable_database_with_a_clear_message(config):
    env = server_env(config, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/x",
                     STARTUP_WAIT_SECONDS="1")
    result = run_cli("serve", env=env)
    assert result.returncode == 3
    assert "PostgreSQL at postgres@127.0.0.1" in result.stderr and "not reachable" in result.stderr
    assert '"waiting for PostgreSQL"' in result.stderr or "waiting for" in result.stderr


def test_token_and_migrate_commands(config):
    env = server_env(config)
    result = run_cli("token", "--role", "profesor", "--user-id", "31", "--username", "p@usm.cl", env=env)
    assert result.returncode == 0, result.stderr
    user = verify_token(result.stdout.strip(), config)
    assert (user.id, user.role, user.username) == (31, "profesor", "p@usm.cl")
    result = run_cli("migrate", env=env)
    assert result.returncode == 0 and "up to date" in result.stdout


def test_dev_command_starts_and_prints_working_tokens(services, valkey_prefix, tmp_path):
    database = with_database(services.postgres_dsn, f"asistencia_dev_{secrets.token_hex(4)}")
    env = server_env(Config(database_url=database, valkey_url=services.valkey_url,
                            valkey_prefix=valkey_prefix + "dev:", jwt_secret=""))
    del env["JWT_SECRET"]
    del env["ASISTENCIA_DEV"]
    server = ServerProcess(env, command="dev", log_dir=tmp_path).start()
    try:
        health = server.wait_healthy(timeout=60)
        assert health["status"] == "ok"
        output = server.output()
        assert "DEV MODE" in output
        tokens = dict(re.findall(r"^\s+(profesor|alumno|admin)\s+\S+\s+(ey[\w.-]+)$", output, re.M))
        assert set(tokens) == {"profesor", "alumno", "admin"}
        request = urllib.request.Request(server.url + "/api/me",
                                         headers={"Authorization": f"Bearer {tokens['profesor']}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["role"] == "profesor"
    finally:
        assert server.stop() == 0
        drop_database(database)


async def test_sigterm_closes_websockets_with_1001_and_exits_promptly(config, token, tmp_path):
    server = ServerProcess(server_env(config, SHUTDOWN_TIMEOUT_SECONDS="3"), log_dir=tmp_path).start()
    await asyncio.to_thread(server.wait_healthy)
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{server.url.replace('http', 'ws')}/ws")
        await ws.send_json({"type": "auth", "token": token()})
        assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
        started = time.monotonic()
        server.process.terminate()
        msg = await ws.receive(timeout=10)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == const.CLOSE_GOING_AWAY
        await ws.close()
    code = await asyncio.to_thread(server.process.wait, 10)
    elapsed = time.monotonic() - started
    server.stop()
    assert code == 0, server.output()
    assert elapsed < 9, f"shutdown took {elapsed:.1f}s, longer than a container's stop grace"


def test_a_port_in_use_is_one_line(config):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", env=server_env(config, PORT=str(port)))
    assert result.returncode == 4
    assert result.stderr.strip().splitlines()[-1] == (
        f"asistencia: cannot listen on 127.0.0.1:{port}: address already in use (another server there? set HOST/PORT)")
    assert "Traceback" not in result.stderr and "ResourceWarning" not in result.stderr


def test_a_database_that_does_not_exist_fails_at_once(config):
    missing = with_database(config.database_url, "asistencia_no_such_database")
    started = time.monotonic()
    result = run_cli("serve", env=server_env(config, DATABASE_URL=missing, STARTUP_WAIT_SECONDS="30"))
    assert result.returncode == 3
    assert time.monotonic() - started < 15, "no 30 s of retries for a refusal waiting cannot cure"
    assert 'refuses the connection: FATAL:  database "asistencia_no_such_database" does not exist' in result.stderr


def test_unreachable_valkey_leaves_no_open_pool_behind(config):
    env = server_env(config, VALKEY_URL=f"redis://127.0.0.1:{free_port()}/0", STARTUP_WAIT_SECONDS="1",
                     PYTHONWARNINGS="always")
    result = run_cli("serve", env=env)
    assert result.returncode == 3
    assert "Valkey at redis://127.0.0.1" in result.stderr
    assert "ResourceWarning" not in result.stderr and "Traceback" not in result.stderr


def test_metrics_token_guards_metrics(config):
    server = ServerProcess(server_env(config, METRICS_TOKEN="m" * 24)).start()
    try:
        server.wait_healthy()
        for headers, status in (({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                                ({"Authorization": "Bearer " + "m" * 24}, 200)):
            request = urllib.request.Request(server.url + "/metrics", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert response.status == status
            except urllib.error.HTTPError as refused:
                assert refused.code == status
                assert json.loads(refused.read())["error"]["code"] == "METRICS_TOKEN"
        assert '"open_files_limit"' in server.output()
    finally:
        server.stop()
