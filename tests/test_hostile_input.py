"""Hostile and broken input at the boundary: each answered with its documented code, never 500.

Every case here once gave 500 (issue 10): token headers pyjwt chokes on, NUL
bytes and lone surrogates PostgreSQL or UTF-8 cannot hold, JSON nested past
the stack, integers past Python's conversion limit, ids past bigint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import aiohttp
import jwt
import pytest

from asistencia.ws import const
from tests.classroom import open_session
from tests.conftest import TEST_SECRET
from tests.helpers import bearer, error_of


def _forged(header: dict, claims: dict | None = None) -> str:
    """A correctly signed token with a header pyjwt's own encoder would not write."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(claims or {'userId': 1, 'rol': 'alumno', 'username': 'x', 'exp': 4e9})}"
    signature = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


@pytest.fixture
def prof(token):
    return token("profesor", user_id=500)


@pytest.mark.parametrize(("header", "code"), [
    ({"alg": "HS256", "crit": ["x"]}, "TOKEN_MALFORMED"),
    ({"alg": "HS256", "kid": 5}, "TOKEN_MALFORMED"),
    ({"alg": ["HS256"]}, "TOKEN_ALGORITHM"),
])
async def test_token_headers_that_break_the_parser_are_401(client, header, code):
    response = await client.get("/api/me", headers=bearer(_forged(header)))
    assert await error_of(response) == (401, code)


async def test_token_with_unusable_claims_is_401(client):
    huge_user = _forged({"alg": "HS256", "typ": "JWT"},
                        {"userId": 2**63, "rol": "profesor", "username": "p", "exp": 4_000_000_000})
    assert await error_of(await client.get("/api/sessions", headers=bearer(huge_user))) == (401, "TOKEN_CLAIMS")
    nul_name = jwt.encode({"userId": 3, "rol": "alumno", "username": "a\x00b", "exp": 4_000_000_000},
                          TEST_SECRET, algorithm="HS256")
    assert await error_of(await client.get("/api/me", headers=bearer(nul_name))) == (401, "TOKEN_CLAIMS")


async def test_health_ignores_authorization(client):
    for header in ("Basic dXNlcjpwYXNz", f"Bearer {_forged({'alg': 'HS256', 'crit': ['x']})}"):
        response = await client.get("/health", headers={"Authorization": header})
        assert response.status == 200, await response.text()


async def test_no_server_banner(client):
    response = await client.get("/health")
    assert response.headers["Server"] == "asistencia"


def _raw(text: str) -> dict:
    return {"data": text.encode("utf-8", "surrogatepass"), "headers": {"Content-Type": "application/json"}}


@pytest.mark.parametrize("body", [
    '{"course_code": "A\\u0000", "course_name": "x"}',
    '{"course_code": "A", "course_name": "x\\u0000y"}',
    '{"course_code": "A", "course_name": "\\ud800"}',
    '{"course_code": "A", "course_name": "x", "rounds": ' + "9" * 5000 + "}",
    '{"course_code": "A", "course_name": "x", "rounds": 1' + "0" * 45 + ".5}",
    '{"course_code": "A", "course_name": "x", "rounds": NaN}',
    "[" * 30_000 + "]" * 30_000,
    '{"a": ' + "{\"a\": " * 40 + "1" + "}" * 41,
    "\xff",
])
async def test_hostile_json_bodies_are_400(client, prof, body):
    data = body.encode("latin-1") if body == "\xff" else body.encode("utf-8")
    response = await client.post("/api/sessions", data=data, headers={**bearer(prof), "Content-Type": "application/json"})
    assert await error_of(response) == (400, "INVALID_JSON")


async def test_a_bogus_charset_is_ignored_not_a_500(client, prof):
    body = json.dumps({"course_code": "A1", "course_name": "Cálculo"}).encode()
    response = await client.post("/api/sessions", data=body,
                                 headers={**bearer(prof), "Content-Type": "application/json; charset=nope"})
    assert response.status == 201


async def test_nul_and_surrogates_in_paths_and_queries_are_400(client, prof):
    for url in ("/api/courses/A%00B/summary", "/api/courses/MAT1/summary?semester=2026%00",
                "/api/sessions?status=%00"):
        assert await error_of(await client.get(url, headers=bearer(prof))) == (400, "VALIDATION_FAILED"), url


async def test_ids_past_bigint_are_400_not_sent_to_postgres(client, prof, token):
    big = str(2**63)
    for url in (f"/api/sessions/{big}", f"/api/sessions/{big}/attendance", f"/api/sessions/{big}/fraud"):
        assert await error_of(await client.get(url, headers=bearer(prof))) == (400, "VALIDATION_FAILED"), url
    response = await client.patch(f"/api/sessions/1/attendance/{big}", headers=bearer(prof),
                                  json={"status": "JUSTIFIED", "note": "x"})
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    student = token("alumno", user_id=77)
    response = await client.delete(f"/api/enrollment/devices/{big}", headers=bearer(student))
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    response = await client.get(f"/api/attendance/status?session={big}", headers=bearer(student))
    assert await error_of(response) == (400, "VALIDATION_FAILED")


async def test_override_note_with_nul_is_400(client, prof, ready_student):
    session = await open_session(client, prof)
    response = await client.patch(f"/api/sessions/{session['id']}/attendance/101", headers=bearer(prof),
                                  data='{"status": "JUSTIFIED", "note": "ok\\u0000"}')
    assert await error_of(response) == (400, "INVALID_JSON")


async def test_enrollment_and_login_with_hostile_bodies_are_400(client, token):
    student = bearer(token("alumno", user_id=88))
    deep = '{"credential": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + ', "client_public_key": "x"}'
    for path, body in (("/api/enrollment/options", '{"fingerprint": "f\\u0000"}'),
                       ("/api/enrollment/verify", '{"credential": {}, "fingerprint": "\\udfff"}'),
                       ("/api/login/verify", deep)):
        response = await client.post(path, data=body, headers=student)
        assert await error_of(response) == (400, "INVALID_JSON"), path


async def _closed_with(ws) -> int:
    msg = await ws.receive(timeout=7)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING), msg
    return ws.close_code


@pytest.mark.parametrize("first", [
    '{"type": "auth", "token": "\\ud800"}',
    "[" * 8000,
    '{"type": "auth", "token": "x", "n": ' + "7" * 5000 + "}",
    '{"type": "auth", "token": "' + _forged({"alg": "HS256", "kid": 5}) + '"}',
])
async def test_hostile_websocket_auth_closes_with_a_code(client, first):
    async with client.ws_connect("/ws") as ws:
        await ws.send_str(first)
        code = await _closed_with(ws)
    assert code in (const.CLOSE_MALFORMED, const.CLOSE_UNAUTHORIZED)


async def test_hostile_websocket_commands_after_auth(client, token):
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": token("alumno", user_id=5)})
        await ws.receive_json(timeout=2)
        await ws.send_str('{"type": "join", "id": 1, "code": "AB\\u0000CDE"}')
        assert await _closed_with(ws) == const.CLOSE_MALFORMED
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": token("profesor", user_id=6)})
        await ws.receive_json(timeout=2)
        await ws.send_json({"type": "watch", "id": 2, "session": 2**63})
        reply = await ws.receive_json(timeout=2)
        assert (reply["type"], reply["error"]["code"]) == ("error", "VALIDATION_FAILED")


async def test_oversize_header_and_url_get_the_json_error_shape(client, prof):
    """Past what Apache in front accepts (8,190 bytes), in our shape, not the parser's plain text."""
    response = await client.get("/api/me", headers={**bearer(prof), "X-Junk": "a" * 9000})
    assert await error_of(response) == (431, "HEADER_TOO_LARGE")
    assert "aaaa" not in await response.text()
    response = await client.get("/api/sessions?semester=" + "b" * 9000, headers=bearer(prof))
    assert await error_of(response) == (414, "URL_TOO_LONG")
    response = await client.get("/health", headers={"Cookie": "c" * 9000})
    assert await error_of(response) == (431, "HEADER_TOO_LARGE")
