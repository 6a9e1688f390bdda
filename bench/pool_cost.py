"""What a text per showing costs the pool: Valkey commands and CPU per frame and per scan.

    .venv/bin/python -m bench.pool_cost [--students 300] [--ticks 600] [--before acaf434]

Runs the QR pool against a private Valkey (started on a free port, so no
other process's commands are counted), twice in one run: *before*, the pool
as it was at commit `--before` (one text per code, its Lua scripts and
`store/qr_pool.py` read from git), and *after*, the working tree's (a text
per showing, `texts_per_code` texts per code under the default projection).
Each: N students' codes plus decoys, `--ticks` frame ticks (each in a new
tick slot), then every student's scan consumed with the next round's code
made live. Per frame and per scan it prints Valkey's commands (INFO
commandstats: scripts' inner calls and the EVALSHA itself) and Valkey's CPU
(INFO cpu), and per scan the server CPU to seal the next round's code
(`round_qr`: what a scan adds in Python).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

from asistencia.config import PROJECT_ROOT, Config
from asistencia.domain.projection import projectable_ms, texts_per_code
from asistencia.domain.qr_payload import decoy, round_qr
from asistencia.localservices import LocalValkey
from asistencia.store import qr_pool as current_pool
from asistencia.valkey import Valkey, create_client
from bench.lib import emit_json, report

SESSION = 1
WINDOW_MS = 20_000


def _pool_module_at(commit: str, into: Path) -> types.ModuleType:
    """`asistencia/store/qr_pool.py` and its Lua scripts as they were at `commit`."""
    def show(path: str) -> str:
        return subprocess.run(["git", "show", f"{commit}:{path}"], cwd=PROJECT_ROOT, check=True,
                              capture_output=True, text=True).stdout

    lua = into / "lua"
    lua.mkdir(parents=True)
    for name in ("common", "pad", "tick", "issue", "consume", "undo", "retire"):
        (lua / f"{name}.lua").write_text(show(f"asistencia/store/lua/{name}.lua"))
    (into / "qr_pool_before.py").write_text(show("asistencia/store/qr_pool.py"))
    spec = importlib.util.spec_from_file_location("qr_pool_before", into / "qr_pool_before.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    module._script_source = lambda name: (lua / "common.lua").read_text() + "\n" + (lua / f"{name}.lua").read_text()
    return module


class _OneText:
    """A current code as the pool before took it (one text)."""

    def __init__(self, qr: Any) -> None:
        self.entry_id, self.owner, self.round, self.key_id, self.text = (
            qr.entry_id, qr.owner, qr.round, qr.key_id, qr.texts[0])


async def _valkey_figures(vk: Valkey) -> tuple[int, float]:
    """(commands so far, Valkey CPU seconds so far), not counting the INFO calls themselves."""
    stats = await vk.client.info("commandstats")
    cpu = await vk.client.info("cpu")
    commands = sum(value["calls"] for name, value in stats.items() if name != "cmdstat_info")
    return commands, cpu["used_cpu_user"] + cpu["used_cpu_sys"]


async def _measure(vk: Valkey, module: types.ModuleType, *, before: bool, students: int, ticks: int,
                   config: Config) -> dict[str, float]:
    await vk.client.flushall()
    pool = module.QrPool(vk)
    texts = 1 if before else texts_per_code(window_seconds=config.qr_window_seconds, tick_ms=config.qr_tick_ms,
                                            per_frame=config.qr_per_frame, min_pool=config.qr_min_pool)
    keep = int(time.time()) + 3600
    keys = {owner: os.urandom(32) for owner in range(1, students + 1)}

    def code(owner: int, round_: int) -> Any:
        made = round_qr(keys[owner], SESSION, owner, round_, time.time(), texts=texts)
        return _OneText(made) if before else made

    await pool.pad(SESSION, [(d[0], d[1][0]) if before else d for d in (decoy(texts) for _ in range(10))],
                   keep_until=keep)
    live = {}
    for owner in keys:
        live[owner] = code(owner, 1)
        await pool.issue(SESSION, live[owner], mode="ensure", keep_until=keep, stale_after_ms=projectable_ms(20))
    tick_args = {"tick_ms": 1, "per_frame": config.qr_per_frame, "stale_after_ms": 10 * WINDOW_MS,
                 "min_pool": config.qr_min_pool, "keep_until": keep}
    if not before:
        tick_args["showing_offset_ms"] = 0
    commands, cpu = await _valkey_figures(vk)
    shown: set[str] = set()
    for _ in range(ticks):
        await asyncio.sleep(0.002)
        shown.update((await pool.tick(SESSION, **tick_args)).texts)
    after_ticks, cpu_ticks = await _valkey_figures(vk)
    start_commands, start_cpu = await _valkey_figures(vk)
    sealing, scans = 0.0, 0
    for owner, qr in live.items():
        text = next((t for t in ([qr.text] if before else qr.texts) if t in shown), None)
        if text is None:
            continue  # not shown in these ticks (fewer ticks than codes)
        sealed_at = time.process_time()
        following = code(owner, 2)
        sealing += time.process_time() - sealed_at
        # The pool before took the TOTP check's result too (protocol v1).
        extra = {"totp_ok": True} if before else {}
        consumed = await pool.consume(SESSION, entry_id=qr.entry_id, text=text, owner=owner, expected_round=1,
                                      proof_round=1, attempts_left=True, window_ms=10 * WINDOW_MS,
                                      keep_until=keep, next_qr=following, **extra)
        assert not isinstance(consumed, str), consumed
        scans += 1
    end_commands, end_cpu = await _valkey_figures(vk)
    await pool.drain()
    return {"texts_per_code": texts,
            "frame_commands": (after_ticks - commands) / ticks, "frame_valkey_cpu_us": (cpu_ticks - cpu) / ticks * 1e6,
            "scans": scans, "scan_commands": (end_commands - start_commands) / scans,
            "scan_valkey_cpu_us": (end_cpu - start_cpu) / scans * 1e6,
            "scan_sealing_cpu_us": sealing / scans * 1e6,
            "memory_bytes": (await vk.client.info("memory"))["used_memory"]}


async def main(students: int, ticks: int, before: str, per_frame_values: list[int]) -> None:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        valkey = LocalValkey(Path(tmp) / "valkey", remove_on_stop=True)
        url = valkey.start()
        vk = Valkey(create_client(url, client_name="bench-pool-cost"), "bench:")
        try:
            old = _pool_module_at(before, Path(tmp) / "before")
            for per_frame in per_frame_values:
                config = Config(qr_per_frame=per_frame)
                figures = {"per_frame": per_frame,
                           "before": await _measure(vk, old, before=True, students=students, ticks=ticks,
                                                    config=config),
                           "after": await _measure(vk, current_pool, before=False, students=students, ticks=ticks,
                                                   config=config)}
                runs.append(figures)
                b, a = figures["before"], figures["after"]
                report(f"Pool cost: {students} students + 10 decoys, {ticks} ticks, QR_PER_FRAME={per_frame} "
                       f"(before = {before}, 1 text per code; after = {a['texts_per_code']} texts per code)", [
                           ("per frame: Valkey commands", f"{b['frame_commands']:.1f} → {a['frame_commands']:.1f}"),
                           ("per frame: Valkey CPU", f"{b['frame_valkey_cpu_us']:.0f} → "
                                                     f"{a['frame_valkey_cpu_us']:.0f} µs"),
                           ("per scan: Valkey commands", f"{b['scan_commands']:.1f} → {a['scan_commands']:.1f}"),
                           ("per scan: Valkey CPU", f"{b['scan_valkey_cpu_us']:.0f} → "
                                                    f"{a['scan_valkey_cpu_us']:.0f} µs"),
                           ("per scan: sealing the next code", f"{b['scan_sealing_cpu_us']:.0f} → "
                                                               f"{a['scan_sealing_cpu_us']:.0f} µs"),
                           ("Valkey memory after the scans", f"{b['memory_bytes'] / 1e6:.2f} → "
                                                             f"{a['memory_bytes'] / 1e6:.2f} MB"),
                       ])
        finally:
            await vk.client.aclose()
            valkey.stop()
    emit_json("pool_cost", {"runs": runs})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=600)
    parser.add_argument("--before", default="acaf434")
    parser.add_argument("--per-frame", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.students, args.ticks, args.before, args.per_frame)))
