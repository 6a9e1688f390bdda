"""What each optional accelerator saves: server CPU per scan and per `GET /api/me`, with and without.

    .venv/bin/python -m bench.accelerators [--repeats 3] [--scans 3000] [--clients 200]

One server per variant and repetition (variants interleaved, so a busy
spell of the machine hits them all), on the same database and private
Valkey, pinned as in `python -m bench`:

- `none`: asyncio's loop, the standard `json`, redis-py's Python parser;
- `uvloop`, `hiredis`, `orjson`: that one alone;
- `fast`: orjson and hiredis on asyncio's loop (what the `fast` extra installs);
- `all`: the three (the `fast` extra and the container install orjson and hiredis;
  uvloop, measured and not adopted, only with the `bench` extra).

A missing accelerator is simulated by a directory on PYTHONPATH whose
module of that name raises ImportError (`blocked_modules`), which is what
an interpreter without the wheel sees; uvloop is chosen by `EVENT_LOOP`.
Per variant: median server CPU per scan (closed loop, `--clients`) and
per `GET /api/me` (50 clients), and each against `none`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from bench.classroom import FIRST_STUDENT_ID, ready_students, token_for
from bench.lib import Server, bench_environment, drive, emit_json, limited, pin_load_generator, split_cores
from bench.scan_throughput import SERVER_ENV, SETUP_TIMEOUT, ValkeyCounters, run_clients, supply

VARIANTS = {"none": ("asyncio", {"hiredis", "orjson"}), "uvloop": ("uvloop", {"hiredis", "orjson"}),
            "hiredis": ("asyncio", {"orjson"}), "orjson": ("asyncio", {"hiredis"}), "all": ("uvloop", set()), "fast": ("asyncio", set())}
ME_REQUESTS = 10_000


@contextlib.contextmanager
def blocked_modules(names: set[str]) -> Iterator[str]:
    """A PYTHONPATH entry under which importing any of `names` fails as if not installed."""
    with tempfile.TemporaryDirectory(prefix="asistencia-blocked-") as folder:
        for name in names:
            (Path(folder) / f"{name}.py").write_text(f"raise ImportError('{name} blocked by bench.accelerators')\n")
        yield folder


async def once(env: dict[str, str], variant: str, students: list, *, scans: int, clients: int) -> dict[str, float]:
    loop, blocked = VARIANTS[variant]
    with blocked_modules(blocked) as folder:
        server_env = {**env, **SERVER_ENV, "EVENT_LOOP": loop, "PYTHONPATH": folder}
        with Server(server_env, cpus=split_cores()[0]) as app:
            valkey = ValkeyCounters(env["VALKEY_URL"])
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                             timeout=aiohttp.ClientTimeout(total=SETUP_TIMEOUT)) as http:
                jobs = await supply(http, app.url, students, scans)
                scan = await run_clients(http, f"{app.url}/api/attendance/scan", iter(jobs), clients, app, valkey)
                tokens = [token_for(FIRST_STUDENT_ID + i, "alumno") for i in range(400)]

                async def me(token: str) -> str:
                    async with http.get(f"{app.url}/api/me", headers={"Authorization": f"Bearer {token}"}) as r:
                        await r.read()
                        return str(r.status)

                me_phase = await drive(me, limited(itertools.cycle(tokens), ME_REQUESTS), 50, app,
                                       until=time.perf_counter() + 10)
            await valkey.client.aclose()
    bad = {k: n for k, n in scan.outcomes.items() if k != "partial"}
    if bad:
        raise RuntimeError(f"{variant}: scans refused {bad}")
    return {"scan_cpu_ms": scan.server_cpu_ms, "scan_rps": scan.rate, "me_cpu_ms": me_phase.server_cpu_ms,
            "me_rps": me_phase.rate}


async def main(repeats: int, scans: int, clients: int) -> None:
    pin_load_generator()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    with bench_environment(private_valkey=True) as env:
        with Server({**env, **SERVER_ENV}, cpus=split_cores()[0]) as setup:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                students = await ready_students(http, setup.url, 400)
        for repeat in range(repeats):
            for name in VARIANTS:
                results[name].append(await once(env, name, students, scans=scans, clients=clients))
                run = results[name][-1]
                print(f"run {repeat + 1} {name:8} scan {run['scan_cpu_ms']:.3f} ms CPU ({run['scan_rps']:.0f}/s), "
                      f"/api/me {run['me_cpu_ms']:.3f} ms CPU ({run['me_rps']:.0f}/s)", flush=True)
    medians = {name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
               for name, runs in results.items()}
    print(f"\n| variant | server CPU per scan (ms) | vs none | per GET /api/me (ms) | vs none |\n"
          f"| --- | --- | --- | --- | --- |")
    for name, figures in medians.items():
        print(f"| {name} | {figures['scan_cpu_ms']:.3f} | "
              f"{figures['scan_cpu_ms'] / medians['none']['scan_cpu_ms']:.2f}× | {figures['me_cpu_ms']:.3f} | "
              f"{figures['me_cpu_ms'] / medians['none']['me_cpu_ms']:.2f}× |")
    emit_json("accelerators", {"runs": results, "medians": medians, "scans": scans, "clients": clients})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scans", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.repeats, args.scans, args.clients))
