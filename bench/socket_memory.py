"""What one socket holds on the server: tracemalloc's live allocations per socket, by library and by line.

    .venv/bin/python -m bench.socket_memory [--kind projector|idle] [--sockets 500] [--top 25]

The server runs under this module (`--wrap MODULE ARGS…`), which starts
tracemalloc on its first SIGUSR1 and writes a snapshot on the second; in
between, `--sockets` projector sockets (10 sessions, the fan-out bench's
tick) or idle authenticated sockets are opened and held. What the snapshot
holds is what was allocated after the first signal and is still alive:
the sockets' share, divided by their count. Python allocations only (RSS
also counts the allocator's overhead and fragmentation).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import runpy
import signal
import sys
import tempfile
import tracemalloc
from pathlib import Path

from bench import idle_sockets, projector_fanout
from bench.lib import Server, bench_environment, report
from bench.scan_throughput import SERVER_ENV

HOLD_SECONDS = 6.0
FRAMES = 8


def wrap(snapshot: str, module: str, args: list[str]) -> None:
    """Run `module` as __main__, tracing from the first SIGUSR1, snapshot to `snapshot` at the second."""
    def toggle(*_) -> None:
        gc.collect()
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(snapshot)
        else:
            tracemalloc.start(FRAMES)

    signal.signal(signal.SIGUSR1, toggle)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def _library(filename: str, *, file: bool = False) -> str:
    """The library (or asistencia module) of a file; with `file`, the file within the library."""
    if "site-packages/" in filename:
        inside = filename.split("site-packages/")[1]
        return inside if file else inside.split("/")[0]
    if "/asistencia/" in filename:
        return "asistencia/" + filename.rsplit("/asistencia/", 1)[1]
    return "stdlib " + Path(filename).name


async def measure(kind: str, count: int, top: int) -> None:
    snapshot = Path(tempfile.mkdtemp(prefix="asistencia-socket-memory-")) / "snapshot"
    with bench_environment() as env:
        env = {**env, **SERVER_ENV, "QR_TICK_MS": str(projector_fanout.TICK_MS), "QR_PER_FRAME": "1",
               "PYTHONPATH": os.getcwd()}
        with Server(env, ["-m", "bench.socket_memory", "--wrap", str(snapshot), "asistencia", "serve"]) as server:
            os.kill(server.process.pid, signal.SIGUSR1)
            if kind == "projector":
                sessions = await projector_fanout.sessions_of(server, 10)

                async def snap_while_held() -> None:
                    await asyncio.sleep(HOLD_SECONDS + projector_fanout.WARMUP_SECONDS + 3)
                    os.kill(server.process.pid, signal.SIGUSR1)

                snapping = asyncio.create_task(snap_while_held())
                await projector_fanout.measure(server, count, HOLD_SECONDS * 2, sessions=sessions, bare=False)
                await snapping
            else:
                http, sockets = await idle_sockets._open(server.url.replace("http", "ws") + "/ws", count, True)
                await asyncio.sleep(HOLD_SECONDS)
                os.kill(server.process.pid, signal.SIGUSR1)
                await asyncio.sleep(HOLD_SECONDS)
                for ws in sockets:
                    await ws.close()
                await http.close()
    stats = tracemalloc.Snapshot.load(str(snapshot)).statistics("lineno")
    libraries: collections.Counter[str] = collections.Counter()
    for stat in stats:
        libraries[_library(stat.traceback[0].filename)] += stat.size
    report(f"{count} {kind} sockets: {sum(s.size for s in stats) / count / 1024:.1f} KB traced per socket",
           [(name, f"{size / count:.0f} B") for name, size in libraries.most_common(top)])
    report("by line", [(f"{_library(s.traceback[0].filename, file=True)}:{s.traceback[0].lineno}",
                        f"{s.size / count:.0f} B, {s.count / count:.2f} objects") for s in stats[:top]])


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--wrap":
        wrap(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        parser = argparse.ArgumentParser(prog="python -m bench.socket_memory", description=__doc__.splitlines()[0])
        parser.add_argument("--kind", choices=("projector", "idle"), default="projector")
        parser.add_argument("--sockets", type=int, default=500)
        parser.add_argument("--top", type=int, default=25)
        args = parser.parse_args()
        asyncio.run(measure(args.kind, args.sockets, args.top))
