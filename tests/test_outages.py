"""PostgreSQL and Valkey stopped in turn under a running server (private instances):
every endpoint answers 503 DEPENDENCY_DOWN with Retry-After, never a 500, and
the server recovers by itself when the dependency comes back.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from asistencia.config import Config
from asistencia.crypto import b64url_encode, public_key_raw
from asistencia.domain.qr_payload import TEXT_LENGTH
from asistencia.localservices import LocalPostgres, LocalValkey, ensure_database, with_database
from asistencia.tokens import User, mint_token
from tests.conftest import TEST_SECRET
from tests.helpers import bearer
from tests.students import make_ready

QR = "0" * TEXT_LENGTH  # shaped like a QR text
PROOF = b64url_encode(bytes(40))
CLIENT_KEY = b64url_encode(public_key_raw(ec.generate_private_key(ec.SECP256R1())))


@pytest.fixture
def private_services():
    # Kept on stop (the test restarts them), removed at the end.
    postgres = LocalPostgres(Path(tempfile.mkdtemp(prefix="asistencia-outage-pg-")))
    valkey = LocalValkey(Path(tempfile.mkdtemp(prefix="asistencia-outage-vk-")))
    try:
        postgres.start()
        valkey.start()
        yield postgres, valkey
    finally:
        for service in (valkey, postgres):
            service.remove_on_stop = True
            service.stop()


@pytest.fixture
async def outage_client(private_services, make_client):
    postgres, valkey = private_services
    database = with_database(postgres.dsn, "asistencia")
    ensure_database(database)
    config = Config(database_url=database, valkey_url=valkey.url, valkey_prefix="outage:", jwt_secret=TEST_SECRET,
                    startup_wait_seconds=5, shutdown_timeout_seconds=2)
    return await make_client(config), config


def _endpoints(config: Config, session_id: int, join_code: str) -> list[tuple[str, str, str, dict | None]]:
    """(role, method, path, body): every endpoint that reads or writes state, with a well-formed request
    from an enrolled, logged-in student and the session's professor."""
    s = session_id
    return [
        ("profesor", "GET", "/api/sessions", None),
        ("profesor", "POST", "/api/sessions", {"course_code": "MAT1", "course_name": "Cálculo"}),
        ("profesor", "GET", f"/api/sessions/{s}", None),
        ("profesor", "POST", f"/api/sessions/{s}/students/7/reset", None),
        ("profesor", "GET", f"/api/sessions/{s}/fraud", None),
        ("profesor", "GET", f"/api/sessions/{s}/attendance", None),
        ("profesor", "GET", f"/api/sessions/{s}/attendance.csv", None),
        ("profesor", "GET", f"/api/sessions/{s}/attendance/legacy", None),
        ("profesor", "PATCH", f"/api/sessions/{s}/attendance/7", {"status": "JUSTIFIED", "note": "certificado"}),
        ("profesor", "GET", "/api/courses/MAT1/summary", None),
        ("profesor", "GET", "/api/courses/MAT1/summary.csv", None),
        ("alumno", "GET", "/api/access/state?fingerprint=f1", None),
        ("alumno", "POST", "/api/enrollment/options", {"fingerprint": "f1"}),
        ("alumno", "POST", "/api/enrollment/verify", {"credential": {"id": "AAAA"}, "fingerprint": "f1"}),
        ("alumno", "GET", "/api/enrollment/devices", None),
        ("alumno", "POST", "/api/login/options", {}),
        ("alumno", "POST", "/api/login/verify", {"credential": {"id": "AAAA"}, "client_public_key": CLIENT_KEY}),
        ("alumno", "DELETE", "/api/login", None),
        ("alumno", "POST", "/api/attendance/join", {"code": join_code}),
        ("alumno", "POST", "/api/attendance/scan", {"session": s, "qr": QR, "proof": PROOF}),
        ("alumno", "GET", f"/api/attendance/status?session={s}", None),
        # last: they end what the requests above need
        ("alumno", "DELETE", "/api/enrollment/devices/1", None),
        ("profesor", "POST", f"/api/sessions/{s}/close", None),
    ]


async def _answers(client, config, session: dict) -> dict[str, tuple[int, str | None, str | None]]:
    tokens = {role: mint_token(config, user_id=7, username=f"{role}-7", role=role) for role in ("alumno", "profesor")}
    found = {}
    for role, method, path, body in _endpoints(config, session["id"], session["join_code"]):
        response = await client.request(method, path, json=body, headers=bearer(tokens[role]))
        payload = await response.json() if response.content_type == "application/json" else {}
        code = payload.get("error", {}).get("code") if isinstance(payload, dict) else None
        found[f"{method} {path}"] = (response.status, code, response.headers.get("Retry-After"))
    return found


async def _health_within(client, status: int, seconds: float) -> float:
    started = time.monotonic()
    while True:
        response = await client.get("/health")
        if response.status == status:
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, await response.text()
        await asyncio.sleep(0.05)


async def _class_under_way(client, config) -> dict:
    """A session and a READY student 7 (enrolled passkey, device logged in) who has not joined yet."""
    token = mint_token(config, user_id=7, username="p", role="profesor")
    response = await client.post("/api/sessions", json={"course_code": "MAT1", "course_name": "Cálculo"},
                                 headers=bearer(token))
    assert response.status == 201, await response.text()
    student = User(7, "alumno-7", "alumno")
    await make_ready(client, config, student, mint_token(config, user_id=7, username="alumno-7", role="alumno"))
    return await response.json()


def _refused_as_down(answers: dict) -> dict:
    return {route: answer for route, answer in answers.items() if answer != (503, "DEPENDENCY_DOWN", "2")}


async def test_postgres_outage_is_503_everywhere_and_recovers(outage_client, private_services, caplog):
    client, config = outage_client
    postgres, _ = private_services
    session = await _class_under_way(client, config)
    session_id = session["id"]
    await _health_within(client, 200, 2)
    await asyncio.to_thread(postgres.stop)
    with caplog.at_level(logging.WARNING):
        assert await _health_within(client, 503, 2) < 2
        answers = await _answers(client, config, session)
    # Every route reads or writes PostgreSQL before it can answer, but these:
    assert _refused_as_down(answers) == {
        "DELETE /api/login": (204, None, None),  # forgets the session key: Valkey only
        # the credential's shape is checked before any I/O; a well-formed one needs a real passkey
        "POST /api/enrollment/verify": (400, "CREDENTIAL_MALFORMED", None),
        "POST /api/login/verify": (400, "CREDENTIAL_MALFORMED", None),
    }
    assert not [r for r in caplog.records if r.exc_info], "an outage is not a crash: no traceback"
    await asyncio.to_thread(postgres.start)
    assert await _health_within(client, 200, 2) < 2
    response = await client.get(f"/api/sessions/{session_id}",
                                headers=bearer(mint_token(config, user_id=7, username="p", role="profesor")))
    assert response.status == 200


# Routes that need Valkey for this request (the others answer as usual while it is down).
NEED_VALKEY = {
    "GET /api/access/state?fingerprint=f1", "POST /api/enrollment/options", "POST /api/login/options",
    "DELETE /api/login", "POST /api/attendance/join", "POST /api/attendance/scan",
    "DELETE /api/enrollment/devices/1",  # a revocation forgets the device's session key
    # the per-user rate limit of passkey ceremonies is kept in Valkey
    "POST /api/enrollment/verify", "POST /api/login/verify",
}


async def test_valkey_outage_is_503_where_valkey_is_needed_and_recovers(outage_client, private_services, caplog):
    client, config = outage_client
    _, valkey = private_services
    session = await _class_under_way(client, config)
    session_id = session["id"]
    await asyncio.to_thread(valkey.stop)
    with caplog.at_level(logging.WARNING):
        assert await _health_within(client, 503, 2) < 2
        answers = await _answers(client, config, session)
    assert {route for route, answer in answers.items() if answer[0] >= 500} == NEED_VALKEY, answers
    assert _refused_as_down({route: answers[route] for route in NEED_VALKEY}) == {}
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith("asistencia.errors")]
    await asyncio.to_thread(valkey.start)
    assert await _health_within(client, 200, 2) < 2
    response = await client.post("/api/login/options", json={},
                                 headers=bearer(mint_token(config, user_id=7, username="a", role="alumno")))
    assert response.status != 503
