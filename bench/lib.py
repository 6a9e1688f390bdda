"""Shared pieces of the benchmarks: servers under test, load, percentiles, process stats.

Benchmarks print figures; they assert nothing. Each compares against a
baseline measured in the same run on the same machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from asistencia.config import PROJECT_ROOT
from asistencia.localservices import drop_database, ensure_database, free_port, local_services, with_database

BENCH_SECRET = "bench-secret-" + "b" * 40


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(samples_s: list[float]) -> str:
    ms = [s * 1000 for s in samples_s]
    return (f"p50 {percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms, "
            f"max {max(ms):.2f} ms, mean {statistics.fmean(ms):.2f} ms")


def process_cpu(pid: int) -> tuple[str, float]:
    """A process's name and CPU seconds (user + system), from /proc (Linux)."""
    head, _, rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")
    fields = rest.split()
    return head.partition("(")[2], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ProcessStats:
    """CPU seconds and RSS of one process, read from /proc (Linux)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        return process_cpu(self.pid)[1]

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def bench_environment() -> Iterator[dict[str, str]]:
    """Environment for server processes: real PostgreSQL + Valkey, a throwaway database."""
    with local_services(PROJECT_ROOT, database_url=os.environ.get("DATABASE_URL"),
                        valkey_url=os.environ.get("VALKEY_URL"), ephemeral=True) as services:
        database = with_database(services.postgres_dsn, f"asistencia_bench_{secrets.token_hex(4)}")
        ensure_database(database)
        try:
            yield {
                **{k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "ASISTENCIA_"))},
                "DATABASE_URL": database,
                "VALKEY_URL": services.valkey_url,
                "VALKEY_PREFIX": f"asistencia-bench-{secrets.token_hex(4)}:",
                "JWT_SECRET": BENCH_SECRET,
                "SESSION_KEY_KEK": secrets.token_urlsafe(32),
                "HOST": "127.0.0.1",
                "LOG_LEVEL": "WARNING",
                "ASISTENCIA_DEV": "0",
            }
        finally:
            drop_database(database)


class Server:
    """A server process under test on a free port (the app, or a baseline module)."""

    def __init__(self, env: dict[str, str], args: list[str] | None = None) -> None:
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.args = args or ["-m", "asistencia", "serve"]
        self.process: subprocess.Popen | None = None
        # A file, not a pipe nobody reads: a server logging more than a pipe holds would block.
        self.log = tempfile.TemporaryFile()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.process = subprocess.Popen([sys.executable, *self.args], env=self.env, cwd=PROJECT_ROOT,
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.url + "/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def log_tail(self, size: int = 2000) -> str:
        """The end of what the server wrote to stderr (its log)."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-size:]

    def warnings_logged(self) -> int:
        """How many WARNING-or-worse log lines the server has written so far."""
        self.log.seek(0)
        return sum(b'"level": "WARNING"' in line or b'"level": "ERROR"' in line for line in self.log)

    @property
    def stats(self) -> ProcessStats:
        return ProcessStats(self.process.pid)


def report(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n== {title}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def emit_json(name: str, data: dict) -> None:
    """Machine-readable figures next to the human ones (bench/results/<name>.json)."""
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2))
