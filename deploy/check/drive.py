"""The client side of scripts/deploy-check: people using the deployment through Apache only.

Everything goes to Apache's address: the professor and each student log in
to the PHP stand-in of Hawaii's login, take their token from the reference
/api_get_asistencia_token.php, and then use /api and /ws as the pages do.
Students are phones with the project's software passkey (enrolled and
logged in over /api) running the reference scanner against a projector
socket on /ws.

    python deploy/check/drive.py class  --apache URL --students 6 --state FILE [--kill-after-round CMD]
    python deploy/check/drive.py count  --apache URL --state FILE
    python deploy/check/drive.py client-address --apache URL

Each prints one JSON object on stdout (figures for the check's report) and
exits non-zero with the reason when the deployment misbehaves. Killing a
backend mid-class is the caller's command (`--kill-after-round`): the
projector reconnects and students retry what failed in transit, as the
pages do, and every student must still complete.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from asistencia.client import Authenticator, Device, RequestRefused
from asistencia.client.http import decoded
from asistencia.client.scanner import FINAL_REFUSALS, Projection, Scanner

PROFESSOR = {"rol": "profesor", "email": "profesora@deploy-check.example", "user_id": "910001",
             "nombre": "Profesora Deploy Check"}
CLASS_TIMEOUT = 240
# How long a call may keep failing in transit (a backend restarting) before the check gives up.
RETRY_WITHIN = 90
RETRY_PAUSE = 0.5
# Seconds from seeing one's code to answering it: a person aiming a phone, not a bot.
ANSWER_DELAY = (0.5, 1.5)
# Documentation addresses (RFC 5737): the classroom's network, a student in it, someone outside.
CLASSROOM_NETWORK = "203.0.113.0/24"
STUDENT_ADDRESS = "203.0.113.7"
OUTSIDE_ADDRESS = "198.51.100.66"


class Failed(Exception):
    """The deployment did something it must not; the message says what."""


class Hawaii:
    """The legacy side, through Apache: its login (a stand-in) and the reference token endpoint."""

    def __init__(self, http: aiohttp.ClientSession, apache: str) -> None:
        self.http = http
        self.apache = apache

    async def login(self, **fields: str) -> str:
        """Log in; the PHP session id (PHPSESSID) that identifies the user from now on."""
        async with self.http.post(f"{self.apache}/login.php", data=fields) as response:
            if response.status != 204 or "PHPSESSID" not in response.cookies:
                raise Failed(f"PHP stand-in login answered {response.status} without a session cookie")
            return response.cookies["PHPSESSID"].value

    async def token(self, session_id: str) -> str:
        async with self.http.get(f"{self.apache}/api_get_asistencia_token.php",
                                 headers={"Cookie": f"PHPSESSID={session_id}"}) as response:
            body = await response.json(content_type=None)
            if response.status != 200:
                raise Failed(f"/api_get_asistencia_token.php answered {response.status}: {body}")
            return body["token"]


@dataclasses.dataclass(frozen=True)
class Student:
    """A student whose phone is enrolled and logged in: the PHP-issued token and the session key."""

    token: str
    key: bytes


async def ready_student(http: aiohttp.ClientSession, apache: str, hawaii: Hawaii, rut: str,
                        rp_id: str, origin: str) -> Student:
    php_session = await hawaii.login(rol="alumno", rut=rut, nombre=f"Estudiante {rut}")
    token = await hawaii.token(php_session)
    phone = Device(http, apache, token, Authenticator(rp_id=rp_id, origin=origin))
    await phone.enroll()
    login = await phone.login()
    return Student(token, login.key)


async def api(http: aiohttp.ClientSession, method: str, url: str, token: str, **kwargs: Any) -> Any:
    async with http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs) as response:
        return await decoded(response)


class Screen:
    """The projector on /ws, reconnecting whenever its socket ends, fanning frames out to the phones."""

    def __init__(self, http: aiohttp.ClientSession, apache: str, token: str, session_id: int) -> None:
        self.http = http
        self.apache = apache
        self.token = token
        self.session_id = session_id
        self.connections = 0
        self._eyes: set[asyncio.Queue[list[str]]] = set()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Screen:
        self._task = asyncio.create_task(self._project())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _project(self) -> None:
        while True:
            try:
                async with Projection.open(self.http, self.apache, self.token, self.session_id) as projection:
                    self.connections += 1
                    async for texts in projection.watch():
                        for eyes in self._eyes:
                            eyes.put_nowait(texts)
            except (aiohttp.ClientError, RequestRefused, asyncio.TimeoutError, ConnectionError):
                pass
            await asyncio.sleep(RETRY_PAUSE)

    async def frames(self):
        eyes: asyncio.Queue[list[str]] = asyncio.Queue()
        self._eyes.add(eyes)
        try:
            while True:
                yield await eyes.get()
        finally:
            self._eyes.discard(eyes)


TRANSIENT = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)


async def until_answered(call):
    """`call()`'s result, retrying while the backend is away (connection errors, Apache's 502/503)."""
    deadline = time.monotonic() + RETRY_WITHIN
    while True:
        try:
            return await call()
        except RequestRefused as refused:
            if refused.status < 500:
                raise
            failure = refused
        except TRANSIENT as error:
            failure = error
        if time.monotonic() > deadline:
            raise Failed(f"still failing after {RETRY_WITHIN} s: {failure!r}")
        await asyncio.sleep(RETRY_PAUSE)


async def attend(scanner: Scanner, screen: Screen, join_code: str, rounds_done: asyncio.Queue[int]) -> dict:
    """Join and scan every round; a scan lost in transit is settled by asking for the student's status."""
    await until_answered(lambda: scanner.join(join_code))
    async for texts in screen.frames():
        scanner.see(texts)
        sighting = scanner.sighting(scanner.current_round)
        if sighting is None:
            continue
        await asyncio.sleep(random.uniform(*ANSWER_DELAY))
        try:
            reply = await scanner.answer(sighting)
        except RequestRefused as refused:
            if refused.status < 500 and refused.code != "ALREADY_COMPLETED":
                if refused.code in FINAL_REFUSALS:
                    raise Failed(f"student {scanner.student_id}: {refused}") from None
                continue
            reply = None
        except TRANSIENT:
            reply = None
        if reply is None:
            progress = await until_answered(scanner.status)
            if progress["state"] == "completed":
                return progress
            continue
        rounds_done.put_nowait(reply.get("round", 0))
        if reply["result"] == "completed":
            return reply
    raise Failed("the projection ended")


async def run_class(args: argparse.Namespace) -> dict[str, Any]:
    env = dotenv(args.env)
    rp_id, origin = env["WEBAUTHN_RP_ID"], env["WEBAUTHN_ORIGIN"]
    state = json.loads(args.state.read_text()) if args.state.is_file() else {"sessions": [], "students": 0}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        hawaii = Hawaii(http, args.apache)
        professor = await hawaii.token(await hawaii.login(**PROFESSOR))
        first = state["students"]
        students = await asyncio.gather(*(
            ready_student(http, args.apache, hawaii, f"{20_000_000 + first + i}-{args.label}", rp_id, origin)
            for i in range(args.students)))
        state["students"] = first + args.students
        session = await api(http, "POST", f"{args.apache}/api/sessions", professor,
                            json={"course_code": "DEP-101", "course_name": f"Deploy check {args.label}",
                                  "rounds": args.rounds, "duration_minutes": 30})
        rounds_done: asyncio.Queue[int] = asyncio.Queue()
        started = time.monotonic()
        killed_at = None
        async with Screen(http, args.apache, professor, session["id"]) as screen:
            scanners = [Scanner(http, args.apache, s.token, s.key) for s in students]
            runs = [asyncio.create_task(attend(sc, screen, session["join_code"], rounds_done)) for sc in scanners]
            if args.kill_after_round:
                await asyncio.wait_for(rounds_done.get(), CLASS_TIMEOUT)
                killed_at = time.monotonic() - started
                kill = await asyncio.create_subprocess_shell(args.kill_after_round)
                if await kill.wait() != 0:
                    raise Failed(f"{args.kill_after_round} exited {kill.returncode}")
            try:
                done = await asyncio.wait_for(asyncio.gather(*runs), CLASS_TIMEOUT)
            except asyncio.TimeoutError:
                raise Failed(f"the class did not complete within {CLASS_TIMEOUT} s") from None
            finally:
                for run in runs:
                    run.cancel()
        elapsed = time.monotonic() - started
        await until_answered(lambda: api(http, "POST", f"{args.apache}/api/sessions/{session['id']}/close",
                                         professor))
        listing = await until_answered(lambda: api(
            http, "GET", f"{args.apache}/api/sessions/{session['id']}/attendance", professor))
    completed = sum(1 for reply in done if reply.get("result") == "completed" or reply.get("state") == "completed")
    state["sessions"].append(session["id"])
    args.state.write_text(json.dumps(state))
    if completed != len(students):
        raise Failed(f"{completed} of {len(students)} students completed")
    return {"session": session["id"], "students": len(students), "completed_through_apache": completed,
            "class_seconds": round(elapsed, 1), "projector_connections": screen.connections,
            "killed_at_seconds": None if killed_at is None else round(killed_at, 1),
            "attendance_rows": len(listing["students"]), "totals": listing["totals"]}


async def count(args: argparse.Namespace) -> dict[str, Any]:
    """Attendance rows of every session the check has run, read back through Apache."""
    state = json.loads(args.state.read_text())
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        hawaii = Hawaii(http, args.apache)
        professor = await hawaii.token(await hawaii.login(**PROFESSOR))
        rows = 0
        for session_id in state["sessions"]:
            listing = await api(http, "GET", f"{args.apache}/api/sessions/{session_id}/attendance", professor)
            rows += len(listing["students"])
    return {"sessions": len(state["sessions"]), "attendance_rows": rows}


async def client_address(args: argparse.Namespace) -> dict[str, Any]:
    """Which address the backend believes, seen through a session that admits one network only.

    From 127.0.0.1 (where cloudflared connects from) CF-Connecting-IP is the
    student; a forged X-Forwarded-For from there, or CF-Connecting-IP from
    any other address (a client reaching Apache directly), is not.
    """
    env = dotenv(args.env)
    rp_id, origin = env["WEBAUTHN_RP_ID"], env["WEBAUTHN_ORIGIN"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http, \
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                  connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))) as elsewhere:
        hawaii = Hawaii(http, args.apache)
        professor = await hawaii.token(await hawaii.login(**PROFESSOR))
        session = await api(http, "POST", f"{args.apache}/api/sessions", professor,
                            json={"course_code": "DEP-NET", "course_name": "Deploy check: allowed networks",
                                  "allowed_networks": [CLASSROOM_NETWORK]})
        cases = {
            "from cloudflared (127.0.0.1), CF-Connecting-IP in the classroom": (
                http, {"CF-Connecting-IP": STUDENT_ADDRESS}),
            "from cloudflared (127.0.0.1), CF-Connecting-IP outside, forged X-Forwarded-For inside": (
                http, {"CF-Connecting-IP": OUTSIDE_ADDRESS, "X-Forwarded-For": STUDENT_ADDRESS}),
            "from 127.0.0.1 without CF-Connecting-IP, forged X-Forwarded-For": (
                http, {"X-Forwarded-For": STUDENT_ADDRESS}),
            "direct to Apache (127.0.0.2), forged CF-Connecting-IP and X-Forwarded-For": (
                elsewhere, {"CF-Connecting-IP": STUDENT_ADDRESS, "X-Forwarded-For": STUDENT_ADDRESS}),
        }
        outcomes = {}
        for index, (case, (client, headers)) in enumerate(cases.items()):
            student = await ready_student(http, args.apache, hawaii, f"{29_000_000 + index}-N", rp_id, origin)
            scanner = Scanner(client, args.apache, student.token, student.key, headers=headers)
            try:
                await scanner.join(session["join_code"])
                outcomes[case] = "admitted"
            except RequestRefused as refused:
                outcomes[case] = refused.code
    expected = ["admitted", "NETWORK_NOT_ALLOWED", "NETWORK_NOT_ALLOWED", "NETWORK_NOT_ALLOWED"]
    if list(outcomes.values()) != expected:
        raise Failed(f"client addresses: {outcomes}")
    return {"client_address": [f"{case}: {outcome}" for case, outcome in outcomes.items()]}


def dotenv(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["class", "count", "client-address"])
    parser.add_argument("--apache", required=True, help="Apache's base URL")
    parser.add_argument("--env", type=Path, default=Path(".env"), help="the deployment's .env")
    parser.add_argument("--state", type=Path, help="where sessions run so far are remembered")
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--label", default="A", help="makes this class's students new ones")
    parser.add_argument("--kill-after-round", help="shell command run once the first round is answered")
    args = parser.parse_args()
    action = {"class": run_class, "count": count, "client-address": client_address}[args.action]
    try:
        print(json.dumps(asyncio.run(action(args))))
    except (Failed, RequestRefused) as failure:
        print(f"deploy-check: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
