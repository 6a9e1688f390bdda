"""Fuzzing the boundary on a real server process with real PostgreSQL and Valkey.

REST: schemathesis generates requests (valid and invalid) for every
operation of the app's own OpenAPI description, as a student, a professor,
an admin, nobody and a garbage token. WebSocket: hypothesis generates
messages for every command (well-formed and not) sent over authenticated
sockets. Both bounded in count and time. The assertion: no 5xx, every error
in the documented shape (or a documented close code), no traceback or
ERROR line in the server's log.
"""

from __future__ import annotations

import asyncio
import json
import math
import time

import aiohttp
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from asistencia.tokens import mint_token
from asistencia.ws import const
from tests.processes import ServerProcess, server_env

REST_REQUESTS = 1300
WS_MESSAGES = 1200
TIME_BUDGET_SECONDS = 150
# Limits that let the fuzzer through (the rate-limit tests cover the limits themselves).
GENEROUS = {name: "100000" for name in (
    "LIMIT_JOINS_PER_MINUTE", "LIMIT_SCANS_PER_MINUTE", "LIMIT_PASSKEY_CEREMONIES_PER_MINUTE",
    "LIMIT_SOCKET_CONNECTS_PER_MINUTE", "LIMIT_SOCKET_MESSAGES_PER_MINUTE")}
CLOSE_CODES = {const.CLOSE_MALFORMED, const.CLOSE_UNAUTHORIZED, const.CLOSE_FORBIDDEN, const.CLOSE_UNKNOWN_SESSION,
               const.CLOSE_RATE_LIMITED, 1009}
SETTINGS = dict(deadline=None, database=None, derandomize=False, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def server(config, tmp_path):
    process = ServerProcess(server_env(config, **GENEROUS), log_dir=tmp_path).start()
    try:
        process.wait_healthy()
        yield process
    finally:
        process.stop()


def _tokens(config) -> dict[str, str | None]:
    return {
        "alumno": mint_token(config, user_id=101, username="rut-101", role="alumno"),
        "profesor": mint_token(config, user_id=500, username="prof@example.cl", role="profesor"),
        "admin": mint_token(config, user_id=1, username="admin@example.cl", role="admin"),
        "nobody": None,
        "garbage": "eyJhbGciOiJIUzI1NiIsImNyaXQiOlsieCJdfQ.e30.x",
    }


def _server_errors(server: ServerProcess) -> list[str]:
    return [line for line in server.output().splitlines()
            if "Traceback" in line or '"level": "ERROR"' in line or '"level": "CRITICAL"' in line]


def _documented_shape(response: requests.Response) -> bool:
    if response.status_code < 400 or not response.request.path_url.startswith("/api"):
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


def test_rest_fuzz_finds_no_server_error(server, config):
    tokens = _tokens(config)
    requests.post(f"{server.url}/api/sessions", json={"course_code": "MAT1", "course_name": "Cálculo"},
                  headers={"Authorization": f"Bearer {tokens['profesor']}"}, timeout=10).raise_for_status()
    spec = requests.get(f"{server.url}/api/openapi.json", timeout=10).json()
    operations = [result.ok() for result in schemathesis.openapi.from_dict(spec).get_all_operations()]
    per_operation = math.ceil(REST_REQUESTS / len(operations))
    http = requests.Session()
    sent, failures = [], []
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    for operation in operations:
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=per_operation, **SETTINGS)
        @given(case=cases, who=st.sampled_from(sorted(tokens)))
        def fuzz(case, who):
            if time.monotonic() > deadline:
                return
            headers = {"Authorization": f"Bearer {tokens[who]}"} if tokens[who] else {}
            response = case.call(base_url=server.url, session=http, headers=headers, timeout=10)
            sent.append(response.status_code)
            if response.status_code >= 500 or not _documented_shape(response):
                failures.append(f"{response.status_code} {case.as_curl_command()} -> {response.text[:300]}")

        fuzz()
    print(f"REST fuzz: {len(sent)} requests over {len(operations)} operations, "
          f"statuses {dict(sorted(((s, sent.count(s)) for s in set(sent))))}")
    assert failures == []
    assert len(sent) >= 1000, "the time budget ran out before 1,000 requests"
    assert _server_errors(server) == []


# Every command, with fields that are sometimes right and often not.
_ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                    max_size=3),
                         max_leaves=8)
_IDS = st.one_of(st.integers(min_value=-2, max_value=5), st.integers(), st.text(max_size=5), st.none())
_FIELDS = {
    "auth": {"token": st.text(max_size=40)},
    "ping": {},
    "join": {"code": st.one_of(st.text(alphabet="ABCDEFGHJKMNPRSTUVWXYZ -", min_size=0, max_size=9), _ANY_JSON)},
    "scan": {"session": _IDS, "qr": st.one_of(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:",
                                                      min_size=70, max_size=80), _ANY_JSON),
             "proof": st.one_of(st.text(alphabet="ABCDEFabcdef0123456789-_", max_size=80), _ANY_JSON)},
    "project": {"session": _IDS},
    "watch": {"session": _IDS},
    "unsubscribe": {},
}


@st.composite
def _message(draw) -> tuple[str, str]:
    role = draw(st.sampled_from(["alumno", "profesor"]))
    kind = draw(st.sampled_from([*_FIELDS, "nonsense"]))
    message: dict = {"type": kind} if draw(st.integers(0, 9)) > 0 or kind == "nonsense" else {}
    message["id"] = draw(_IDS)
    for name, strategy in _FIELDS.get(kind, {}).items():
        if draw(st.integers(0, 9)) > 0:
            message[name] = draw(strategy)
    if draw(st.integers(0, 9)) == 0:
        message[draw(st.text(max_size=6))] = draw(_ANY_JSON)
    text = json.dumps(message)
    if draw(st.integers(0, 19)) == 0:
        text = draw(st.sampled_from(["", "{", "[]", "null", '"x"', text[: len(text) // 2], "[" * 40]))
    return role, text


async def _send_all(url: str, tokens: dict[str, str | None], batch: list[tuple[str, str]]) -> tuple[int, list[str]]:
    problems: list[str] = []
    replies = 0
    sockets: dict[str, aiohttp.ClientWebSocketResponse] = {}
    async with aiohttp.ClientSession() as http:

        async def socket(role: str) -> aiohttp.ClientWebSocketResponse:
            ws = sockets.get(role)
            if ws is None or ws.closed:
                ws = await http.ws_connect(f"{url}/ws")
                await ws.send_json({"type": "auth", "token": tokens[role]})
                assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
                sockets[role] = ws
            return ws

        for role, text in batch:
            ws = await socket(role)
            await ws.send_str(text)
            # Read until this message is answered or the socket is closed; frames and events may come between.
            while True:
                msg = await ws.receive(timeout=5)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    if ws.close_code not in CLOSE_CODES:
                        problems.append(f"closed {ws.close_code} after {text[:200]!r}")
                    break
                reply = json.loads(msg.data)
                if reply.get("type") == "error":
                    error = reply.get("error", {})
                    if not isinstance(error.get("code"), str) or error.get("code") in ("INTERNAL_ERROR", "DEPENDENCY_DOWN"):
                        problems.append(f"{reply} after {text[:200]!r}")
                if reply.get("type") in ("result", "error"):
                    replies += 1
                    break
        for ws in sockets.values():
            await ws.close()
    return replies, problems


def test_websocket_fuzz_finds_no_server_error(server, config):
    batch: list[tuple[str, str]] = []

    @settings(max_examples=WS_MESSAGES, **SETTINGS)
    @given(_message())
    def collect(message):
        batch.append(message)

    collect()
    started = time.monotonic()
    replies, problems = asyncio.run(asyncio.wait_for(_send_all(server.url, _tokens(config), batch),
                                                     TIME_BUDGET_SECONDS))
    print(f"WebSocket fuzz: {len(batch)} messages, {replies} answered, the rest closed the socket with a "
          f"documented code, in {time.monotonic() - started:.1f} s")
    assert problems == []
    assert len(batch) >= 1000
    assert _server_errors(server) == []
