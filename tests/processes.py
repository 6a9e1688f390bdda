"""Real server processes, for tests that need several of them or a real SIGTERM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from asistencia.config import Config
from asistencia.crypto import b64url_encode
from asistencia.localservices import free_port

ROOT = Path(__file__).resolve().parent.parent


def server_env(config: Config, **extra: str) -> dict[str, str]:
    """Environment variables that reproduce `config` in a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "ASISTENCIA_"))}
    env.update(
        DATABASE_URL=config.database_url,
        VALKEY_URL=config.valkey_url,
        VALKEY_PREFIX=config.valkey_prefix,
        JWT_SECRET=config.jwt_secret,
        SESSION_KEY_KEK=b64url_encode(config.session_key_kek),
        HOST="127.0.0.1",
        LOG_LEVEL="INFO",
        STARTUP_WAIT_SECONDS="10",
        SHUTDOWN_TIMEOUT_SECONDS=str(config.shutdown_timeout_seconds),
        ASISTENCIA_DEV="1" if config.dev else "0",
    )
    env.update(extra)
    return env


def get_json(url: str, timeout: float = 2.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class ServerProcess:
    """`python -m asistencia <command>` on a free port, logs captured to a file."""

    def __init__(self, env: dict[str, str], command: str = "serve", log_dir: Path | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.port = int(env.get("PORT") or free_port())
        self.env = {**env, "PORT": str(self.port)}
        self.command = command
        self.args = args
        self.log_path = (log_dir or Path("/tmp")) / f"asistencia-{command}-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self._log = open(self.log_path, "w+b")
        self.process = subprocess.Popen([sys.executable, "-m", "asistencia", self.command, *self.args], env=self.env,
                                        cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def wait_healthy(self, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, body = get_json(self.url + "/health", timeout=1)
                if status == 200:
                    return body
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not healthy after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_bytes().decode(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode
