"""Where a scan's server CPU goes: py-spy on the server process while closed-loop clients scan.

    .venv/bin/python -m bench.profile_scan [--clients 200] [--seconds 10] [--top 20]

Sets up as `python -m bench` does (pinned cores, private Valkey, READY
students, projected round-1 codes), then samples the server with py-spy
(`pip install py-spy`, pinned in the `bench` extra; it needs ptrace rights:
root, or `kernel.yama.ptrace_scope=0`) for `--seconds` of scanning. Idle
samples (the loop waiting in epoll) are left out, so shares are of the
server's busy time. Printed: the share of busy samples in which each
library or asistencia module is on the stack (inclusive; a stack counts
once per library), and the functions with the most samples of their own.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.classroom import ready_students
from bench.lib import Server, bench_environment, emit_json, pin_load_generator, split_cores
from bench.scan_throughput import SERVER_ENV, SETUP_TIMEOUT, ValkeyCounters, run_clients, supply

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
# On (nearly) every stack: the process's entry, the web server and the event loop itself.
_ROOTS = {"<frozen runpy>", "asistencia.__main__", "asistencia.cli", "aiohttp", "asyncio"}


def _area(file: str) -> str:
    """A frame's library (its top-level package, stdlib included) or asistencia module."""
    path = re.sub(r"^.*/lib/python3\.\d+/(site-packages/)?", "", file)
    if "/asistencia/" in path:
        path = "asistencia/" + path.rsplit("/asistencia/", 1)[1]
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts) if parts[0] == "asistencia" else parts[0]


def summarise(collapsed: str, top: int) -> dict:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        frames = [_FRAME.match(frame) for frame in stack.split(";")]
        frames = [frame for frame in frames if frame is not None]
        if not frames:
            continue
        total += samples
        for area in {_area(frame.group("file")) for frame in frames} - _ROOTS:
            inclusive[area] += samples
        leaf = frames[-1]
        own[f"{leaf.group('function')} ({_area(leaf.group('file'))})"] += samples
    return {"samples": total,
            "inclusive_pct": {k: round(v / total * 100, 1) for k, v in inclusive.most_common(top)},
            "own_pct": {k: round(v / total * 100, 1) for k, v in own.most_common(top)}}


async def main(clients: int, seconds: float, top: int) -> None:
    py_spy = shutil.which("py-spy") or str(Path(__import__("sys").executable).parent / "py-spy")
    pin_load_generator()
    server_cores, _ = split_cores()
    with bench_environment(private_valkey=True) as env, tempfile.TemporaryDirectory() as tmp:
        with Server({**env, **SERVER_ENV}, cpus=server_cores) as app:
            valkey = ValkeyCounters(env["VALKEY_URL"])
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                             timeout=aiohttp.ClientTimeout(total=SETUP_TIMEOUT)) as http:
                students = await ready_students(http, app.url, 300)
                jobs = await supply(http, app.url, students, int(seconds * 2000))
                output = Path(tmp) / "profile.txt"
                spy = subprocess.Popen([py_spy, "record", "--pid", str(app.process.pid), "--duration",
                                        str(int(seconds)), "--rate", "250", "--format", "raw", "--nonblocking",
                                        "--output", str(output)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                await asyncio.sleep(0.5)  # py-spy attached
                phase = await run_clients(http, f"{app.url}/api/attendance/scan", iter(jobs), clients, app, valkey,
                                          until=time.perf_counter() + seconds)
                _, err = spy.communicate(timeout=60)
            await valkey.client.aclose()
        if spy.returncode != 0:
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
        figures = summarise(output.read_text(), top)
    print(f"{phase.line()}\n{phase.outcomes}\n\nbusy samples: {figures['samples']}\n\n"
          "on the stack (inclusive, % of busy samples):")
    for name, pct in figures["inclusive_pct"].items():
        print(f"  {pct:5.1f}%  {name}")
    print("\nown time (leaf function, % of busy samples):")
    for name, pct in figures["own_pct"].items():
        print(f"  {pct:5.1f}%  {name}")
    emit_json("profile_scan", {"phase": phase.figures(), **figures})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.seconds, args.top))
