"""A 300-student class behind one address completes while one student's guessing and flooding is limited.

    .venv/bin/python -m bench.limited_classroom [--students 300] [--per-frame 4]

Everyone connects from 127.0.0.1, as a class behind one NAT does. While the
class runs (as in bench.class_simulation), one more READY student, joined to
the same session, makes 3,000 join-code guesses, sends 2,000 junk-proof
scans, opens 50 sockets and floods one of them with pings. Reported: the
class's outcome against its display bound (no honest student may see a
429), and for the attacker what was allowed, refused (429 / 4429) and
written (scan_failures rows, via the fraud counters; unrecorded ones from
/metrics). Limits are the defaults of docs/configuration.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import re
from typing import Any

import aiohttp

from asistencia.crypto import b64url_encode
from asistencia.domain.join_code import ALPHABET
from asistencia.domain.qr_payload import TEXT_LENGTH
from bench.class_simulation import run_class
from bench.classroom import Student, professor_token, ready_student, ready_students
from bench.lib import Server, bench_environment, emit_json, report

ATTACKER_ID = 8_888_888
GUESSES, JUNK_SCANS, SOCKETS, FLOOD = 3000, 2000, 50, 2000
CONCURRENCY = 10


async def _active_session(http: aiohttp.ClientSession, base_url: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {professor_token()}"}
    while True:
        async with http.get(f"{base_url}/api/sessions?status=active", headers=headers) as response:
            found = (await response.json())["sessions"]
        if found:
            return found[0]
        await asyncio.sleep(0.2)


async def _many(count: int, request) -> collections.Counter:
    statuses: collections.Counter = collections.Counter()
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with limit:
            statuses[await request()] += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return statuses


async def _sockets(http: aiohttp.ClientSession, base_url: str, token: str) -> dict[str, Any]:
    held, refused = [], 0
    for _ in range(SOCKETS):
        ws = await http.ws_connect(f"{base_url}/ws")
        await ws.send_json({"type": "auth", "token": token})
        msg = await ws.receive(timeout=5)
        if msg.type == aiohttp.WSMsgType.TEXT:
            held.append(ws)
        else:
            refused += 1
            await ws.close()
    answered, close_code = 0, None
    if held:
        flooder = held[0]
        for n in range(FLOOD):
            try:
                await flooder.send_json({"type": "ping", "id": n})
            except ConnectionResetError:
                break
        while True:
            msg = await flooder.receive(timeout=10)
            if msg.type != aiohttp.WSMsgType.TEXT:
                close_code = flooder.close_code
                break
            answered += 1
    for ws in held:
        await ws.close()
    return {"sockets_opened": SOCKETS, "sockets_held": len(held), "sockets_refused": refused,
            "pings_sent": FLOOD, "pings_answered": answered, "flood_close_code": close_code}


async def attack(base_url: str, attacker: Student) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {attacker.token}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        session = await _active_session(http, base_url)
        async with http.post(f"{base_url}/api/attendance/join", json={"code": session["join_code"]},
                             headers=headers) as response:
            joined = response.status

        async def guess() -> int:
            code = "".join(random.choice(ALPHABET) for _ in range(6))
            async with http.post(f"{base_url}/api/attendance/join", json={"code": code}, headers=headers) as r:
                return r.status

        async def junk() -> int:
            body = {"session": session["id"], "qr": "0" * TEXT_LENGTH, "proof": b64url_encode(random.randbytes(48))}
            async with http.post(f"{base_url}/api/attendance/scan", json=body, headers=headers) as r:
                return r.status

        guesses = await _many(GUESSES, guess)
        scans = await _many(JUNK_SCANS, junk)
        sockets = await _sockets(http, base_url, attacker.token)
        async with http.get(f"{base_url}/metrics") as response:
            metrics = await response.text()
        async with http.get(f"{base_url}/api/sessions/{session['id']}/fraud",
                            headers={"Authorization": f"Bearer {professor_token()}"}) as response:
            fraud = await response.json()
    unrecorded = re.search(r"^asistencia_scan_refusals_unrecorded_total (\S+)$", metrics, re.M)
    limited = dict(re.findall(r'^asistencia_rate_limited_total\{limit="([^"]+)"\} (\S+)$', metrics, re.M))
    return {"joined_own_session": joined, "guesses": dict(guesses), "junk_scans": dict(scans),
            "fraud_by_code": fraud.get("by_code"), "unrecorded_refusals": float(unrecorded.group(1)) if unrecorded else 0,
            "rate_limited_by_limit": limited, **sockets}


def _rows(cls: dict[str, Any], attacker: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("class: completed / failed / unfinished", f"{cls['completed']} / {cls['failed'] or 0} / {cls['unfinished']}"),
        ("class: first join → last completed", f"{cls['total_seconds']:.1f} s = {cls['ratio']:.2f}× the display bound"),
        ("attacker: join into own session", str(attacker["joined_own_session"])),
        (f"attacker: {GUESSES} join guesses", str(attacker["guesses"])),
        (f"attacker: {JUNK_SCANS} junk scans", str(attacker["junk_scans"])),
        ("scan_failures rows (fraud counters)", str(attacker["fraud_by_code"])),
        ("refusals counted, not recorded", f"{attacker['unrecorded_refusals']:.0f}"),
        (f"attacker: {SOCKETS} sockets", f"held {attacker['sockets_held']}, refused {attacker['sockets_refused']}"),
        (f"attacker: {FLOOD} pings on one socket", f"answered {attacker['pings_answered']}, "
                                                 f"then closed {attacker['flood_close_code']}"),
        ("429s by limit (/metrics)", str(attacker["rate_limited_by_limit"])),
    ]


async def main(count: int, per_frame: int) -> None:
    with bench_environment() as env, Server({**env, "QR_PER_FRAME": str(per_frame)}) as server:
        async with aiohttp.ClientSession() as http:
            students = await ready_students(http, server.url, count)
            attacker = await ready_student(http, server.url, ATTACKER_ID)
        cls, attacked = await asyncio.gather(run_class(server, students, 3), attack(server.url, attacker))
    report(f"{count} students behind one address, one of them attacking", _rows(cls, attacked))
    emit_json(f"limited_classroom_{count}", {"class": cls, "attacker": attacked})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--per-frame", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.students, args.per_frame))
