"""Shared pieces of the benchmarks: servers under test, load, percentiles, process stats.

Benchmarks print figures; they assert nothing. Each compares against a
baseline measured in the same run on the same machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from asistencia.config import PROJECT_ROOT
from asistencia.localservices import (LocalValkey, drop_database, ensure_database, free_port, local_services,
                                      with_database)

BENCH_SECRET = "bench-secret-" + "b" * 40


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def spread(values: list[float]) -> dict[str, Any]:
    """Median and range of repeated measurements (and the runs themselves, in order)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


# The cores this process was started with (before `pin_load_generator` narrows them).
_ALLOWED_CORES = sorted(os.sched_getaffinity(0))


def split_cores() -> tuple[set[int] | None, set[int] | None]:
    """(server cores, load generator cores): one core each where this process may use two or more,
    so the load generator does not take the server's core; (None, None) on one core."""
    allowed = _ALLOWED_CORES
    if len(allowed) < 2:
        return None, None
    return {allowed[0]}, set(allowed[1:])


def pin_load_generator() -> set[int] | None:
    """Pin this process (the load generator) to its cores; those cores, or None on one core."""
    _, load = split_cores()
    if load is not None:
        os.sched_setaffinity(0, load)
    return load


def summary_ms(samples_s: list[float]) -> str:
    ms = [s * 1000 for s in samples_s]
    return (f"p50 {percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms, "
            f"max {max(ms):.2f} ms, mean {statistics.fmean(ms):.2f} ms")


def process_cpu(pid: int) -> tuple[str, float]:
    """A process's name and CPU seconds (user + system), from /proc (Linux)."""
    head, _, rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")
    fields = rest.split()
    return head.partition("(")[2], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The pids of a process's children (its workers, for `serve --workers N`), from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


class ProcessStats:
    """CPU seconds and RSS of one process, read from /proc (Linux); with `workers`, the CPU
    seconds of its children too (a server's workers, while they run)."""

    def __init__(self, pid: int, *, workers: bool = False) -> None:
        self.pid = pid
        self.workers = workers

    def cpu_seconds(self) -> float:
        pids = [self.pid, *children(self.pid)] if self.workers else [self.pid]
        return sum(process_cpu(pid)[1] for pid in pids)

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def _valkey(private: bool) -> Iterator[str | None]:
    if not private:
        yield os.environ.get("VALKEY_URL")
        return
    valkey = LocalValkey(Path(tempfile.mkdtemp(prefix="asistencia-bench-valkey-")), remove_on_stop=True)
    try:
        yield valkey.start()
    finally:
        valkey.stop()


@contextlib.contextmanager
def bench_environment(*, private_valkey: bool = False) -> Iterator[dict[str, str]]:
    """Environment for server processes: real PostgreSQL + Valkey, a throwaway database.

    `private_valkey` starts a Valkey of the run's own, so its command counts are
    this run's alone (the machine's Valkey also serves other processes).
    """
    with _valkey(private_valkey) as valkey_url, \
            local_services(PROJECT_ROOT, database_url=os.environ.get("DATABASE_URL"), valkey_url=valkey_url,
                           ephemeral=True) as services:
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
    """A server process under test on a free port (the app, or a baseline module), pinned to
    `cpus` when given."""

    def __init__(self, env: dict[str, str], args: list[str] | None = None, *, cpus: set[int] | None = None,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.args = args or ["-m", "asistencia", "serve"]
        self.cpus = cpus
        self.process: subprocess.Popen | None = None
        # A file, not a pipe nobody reads: a server logging more than a pipe holds would block.
        self.log = tempfile.TemporaryFile()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.process = subprocess.Popen([sys.executable, *self.args], env=self.env, cwd=PROJECT_ROOT,
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        if self.cpus is not None:
            # Before the interpreter starts its threads: they inherit the mask.
            os.sched_setaffinity(self.process.pid, self.cpus)
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
        return ProcessStats(self.process.pid, workers=True)


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


Job = TypeVar("Job")


@dataclasses.dataclass
class Phase:
    """What one run of closed-loop (or paced) clients saw, and what it cost."""

    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = dataclasses.field(default_factory=list)
    outcomes: dict[str, int] = dataclasses.field(default_factory=dict)
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU (user + system) per request, ms."""
        return self.server_cpu / self.requests * 1000 if self.requests else float("nan")

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    def figures(self) -> dict[str, Any]:
        return {"requests": self.requests, "seconds": self.seconds, "req_per_s": self.rate,
                "p50_ms": self.ms(50), "p99_ms": self.ms(99), "max_ms": max(self.latencies, default=0) * 1000,
                "outcomes": self.outcomes, "server_cpu_ms_per_request": self.server_cpu_ms,
                "client_cpu_ms_per_request": self.client_cpu / self.requests * 1000 if self.requests else None}

    def line(self) -> str:
        return (f"{self.requests} in {self.seconds:.2f} s = {self.rate:.0f} req/s; p50 {self.ms(50):.1f} ms, "
                f"p99 {self.ms(99):.1f} ms, max {max(self.latencies, default=0) * 1000:.1f} ms; "
                f"server CPU {self.server_cpu_ms:.3f} ms/req, "
                f"client CPU {self.client_cpu / max(self.requests, 1) * 1000:.2f} ms/req")


async def drive(send: Callable[[Job], Awaitable[str]], jobs: Iterator[Job], clients: int, server: Server, *,
                until: float | None = None, period: float | None = None) -> Phase:
    """`clients` workers taking jobs until none is left (or the clock passes `until`).

    `send` does one request and names its outcome. Closed loop by default: a
    worker sends its next job as soon as its last reply is in. With `period`,
    each worker sends one job per `period` seconds (from a random phase), an
    offered load that does not depend on how fast the server answers. The
    phase's server CPU is the server process's own (user + system), read from /proc.
    """
    phase = Phase()

    async def worker() -> None:
        next_send = time.perf_counter() + random.uniform(0, period or 0)
        for job in jobs:
            if period is not None:
                await asyncio.sleep(max(0.0, next_send - time.perf_counter()))
                next_send += period
            if until is not None and time.perf_counter() >= until:
                return
            sent = time.perf_counter()
            outcome = await send(job)
            phase.latencies.append(time.perf_counter() - sent)
            phase.outcomes[outcome] = phase.outcomes.get(outcome, 0) + 1

    stats = server.stats
    cpu, client_cpu = stats.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    phase.seconds = time.perf_counter() - started
    phase.server_cpu = stats.cpu_seconds() - cpu
    phase.client_cpu = time.process_time() - client_cpu
    phase.requests = len(phase.latencies)
    return phase


def limited(jobs: Iterator[Job], count: int) -> Iterator[Job]:
    """At most `count` of `jobs` (a phase of N requests)."""
    for _, job in zip(range(count), jobs):
        yield job
