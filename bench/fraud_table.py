"""The device-integrity rows of the fraud table (docs/architecture.md, "What a cheat gets"), measured.

    .venv/bin/python -m bench.fraud_table [--students 10]

Against a real server process, PostgreSQL and Valkey:

- one phone for three students: three students enroll from one phone id
  (one browser); how many get a device, and how many end the class
  completed, without a professor's action;
- Valkey read + JWT: a class mid-session, every Valkey key dumped (every
  type); how many students' session keys appear in it (raw, hex, base64,
  base64url), and how many of their projected codes open with any 32 bytes
  the dump holds at any offset of any decoded value;
- revoked device: every student revokes their phone after Valkey was
  dumped; the dump is restored; how many scans with the old keys are
  accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import secrets
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from asistencia.client import Authenticator, Device, RequestRefused
from asistencia.client.scanner import Projection, Scanner
from asistencia.config import Config
from asistencia.crypto import DecryptError
from asistencia.domain.qr_payload import open_qr
from bench.classroom import Student, open_session, professor_token, ready_students, token_for
from bench.lib import Server, bench_environment, emit_json, report

FIRST_ID = 2_000_000


def _forms(key: bytes) -> list[bytes]:
    b64, b64url = base64.b64encode(key), base64.urlsafe_b64encode(key)
    return [key, key.hex().encode(), key.hex().upper().encode(), b64, b64.rstrip(b"="), b64url, b64url.rstrip(b"=")]


def _decodings(value: bytes) -> list[bytes]:
    """The value, and every piece of it that decodes as hex or base64(url): what an attacker would try."""
    out = [value]
    for token in value.replace(b'"', b" ").replace(b",", b" ").replace(b":", b" ").split():
        for decode in (bytes.fromhex, lambda t: base64.urlsafe_b64decode(t + b"=" * (-len(t) % 4)),
                       lambda t: base64.b64decode(t + b"=" * (-len(t) % 4))):
            with contextlib.suppress(ValueError, binascii.Error, TypeError):
                out.append(decode(token.decode() if decode is bytes.fromhex else token))
    return out


async def _dump(vk: aioredis.Redis, prefix: str) -> dict[bytes, bytes]:
    found = {}
    async for name in vk.scan_iter(match=prefix + "*", count=500):
        found[name] = await vk.dump(name)
    return found


async def _values(vk: aioredis.Redis, prefix: str) -> list[bytes]:
    values = []
    async for name in vk.scan_iter(match=prefix + "*", count=500):
        kind = (await vk.type(name)).decode()
        if kind == "string":
            values.append(await vk.get(name))
        elif kind == "hash":
            values += [item for pair in (await vk.hgetall(name)).items() for item in pair]
        elif kind == "zset":
            values += [member for member, _ in await vk.zrange(name, 0, -1, withscores=True)]
        elif kind == "set":
            values += list(await vk.smembers(name))
        elif kind == "list":
            values += await vk.lrange(name, 0, -1)
    return [value for value in values if value]


async def one_phone_for_three(server: Server) -> dict[str, Any]:
    config = Config()
    fingerprint = secrets.token_urlsafe(16)
    enrolled, completed = [], 0
    async with aiohttp.ClientSession() as http:
        session = await open_session(http, server.url, professor_token(), rounds=2)
        students = []
        for user_id in range(FIRST_ID, FIRST_ID + 3):
            token = token_for(user_id, "alumno", f"{user_id}-0")
            phone = Device(http, server.url, token, Authenticator(rp_id=config.webauthn_rp_id,
                                                                 origin=config.webauthn_origin), fingerprint)
            try:
                await phone.enroll()
            except RequestRefused as refused:
                enrolled.append(refused.code)
                continue
            enrolled.append("enrolled")
            students.append(Student(user_id, token, (await phone.login()).key))
        async with Projection.open(http, server.url, professor_token(), session["id"]) as screen:
            for student in students:
                scanner = student.scanner(http, server.url, answer_delay=lambda: 0.5)
                await scanner.join(session["join_code"])
                with contextlib.suppress(RequestRefused):
                    reply = await asyncio.wait_for(scanner.run(screen.watch()), 60)
                    completed += reply["result"] == "completed"
    return {"enrollments": enrolled, "completed": completed}


async def _joined_class(http: aiohttp.ClientSession, base_url: str,
                        students: list[Student]) -> tuple[dict[str, Any], list[Scanner]]:
    """A two-round session every student has joined, and each student's scanner."""
    session = await open_session(http, base_url, professor_token(), rounds=2)
    scanners = [student.scanner(http, base_url) for student in students]
    for scanner in scanners:
        await scanner.join(session["join_code"])
    return session, scanners


async def valkey_read(server: Server, env: dict[str, str], students: list[Student]) -> dict[str, Any]:
    vk = aioredis.Redis.from_url(env["VALKEY_URL"])
    try:
        async with aiohttp.ClientSession() as http:
            session, scanners = await _joined_class(http, server.url, students)
            async with Projection.open(http, server.url, professor_token(), session["id"]) as screen:
                seen: dict[Scanner, str] = {}
                async for texts in screen.watch():
                    for scanner in scanners:
                        scanner.see(texts)
                        if (sighting := scanner.sighting(1)) is not None:
                            seen[scanner] = sighting.text
                    if len(seen) == len(scanners):
                        break
                values = await _values(vk, env["VALKEY_PREFIX"])
        keys_found = sum(any(form in value for value in values for form in _forms(student.session_key))
                         for student in students)
        candidates = {piece[i:i + 32] for value in values for piece in _decodings(value)
                      for i in range(0, max(0, len(piece) - 31))}
        opened = 0
        for scanner, text in seen.items():
            for candidate in candidates:
                with contextlib.suppress(DecryptError, ValueError):
                    open_qr(candidate, text, session_id=scanner.session_id, student_id=scanner.student_id, round_=1)
                    opened += 1
                    break
        return {"students": len(students), "keys_found": keys_found, "candidates_tried": len(candidates),
                "codes_opened": opened}
    finally:
        await vk.aclose()


async def revoked_devices(server: Server, env: dict[str, str], students: list[Student]) -> dict[str, Any]:
    vk = aioredis.Redis.from_url(env["VALKEY_URL"])
    accepted, refusals = 0, {}
    try:
        async with aiohttp.ClientSession() as http:
            session, scanners = await _joined_class(http, server.url, students)
            saved = await _dump(vk, env["VALKEY_PREFIX"])
            for student in students:
                headers = {"Authorization": f"Bearer {student.token}"}
                async with http.get(f"{server.url}/api/enrollment/devices", headers=headers) as response:
                    device = next(d for d in (await response.json())["devices"] if d["status"] == "enrolled")
                async with http.delete(f"{server.url}/api/enrollment/devices/{device['id']}",
                                       headers=headers) as response:
                    assert response.status == 200, await response.text()
            for name, value in saved.items():
                await vk.restore(name, 0, value, replace=True)
            async with Projection.open(http, server.url, professor_token(), session["id"]) as screen:
                for scanner in scanners:
                    try:
                        await asyncio.wait_for(_answer_once(scanner, screen), 20)
                        accepted += 1
                    except RequestRefused as refused:
                        refusals[refused.code] = refusals.get(refused.code, 0) + 1
    finally:
        await vk.aclose()
    return {"students": len(students), "accepted": accepted, "refusals": refusals}


async def _answer_once(scanner: Scanner, screen: Projection) -> dict[str, Any]:
    async for texts in screen.watch():
        scanner.see(texts)
        if (sighting := scanner.sighting(scanner.current_round)) is not None:
            return await scanner.answer(sighting)
    raise RequestRefused(0, "PROJECTION_ENDED", "the projection ended")


async def main(count: int) -> None:
    with bench_environment() as env:
        env = {**env, "COUNTDOWN_SECONDS": "0", "QR_TICK_MS": "100", "QR_MIN_POOL": "10"}
        with Server(env) as server:
            shared = await one_phone_for_three(server)
            async with aiohttp.ClientSession() as http:
                students = await ready_students(http, server.url, count, first_id=FIRST_ID + 10)
            dumped = await valkey_read(server, env, students)
            revoked = await revoked_devices(server, env, students)
    report("Fraud table: device integrity", [
        ("one phone for three students", f"enrolments {shared['enrollments']}; "
                                         f"completed the class: {shared['completed']} of 3"),
        ("Valkey read + JWT", f"session keys in the dump: {dumped['keys_found']} of {dumped['students']}; "
                              f"codes opened with any of {dumped['candidates_tried']} 32-byte pieces of it: "
                              f"{dumped['codes_opened']} of {dumped['students']}"),
        ("revoked device (Valkey restored)", f"scans accepted: {revoked['accepted']} of {revoked['students']}; "
                                             f"refused {revoked['refusals']}"),
    ])
    emit_json("fraud_table", {"one_phone_for_three": shared, "valkey_read": dumped, "revoked_device": revoked})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.students))
