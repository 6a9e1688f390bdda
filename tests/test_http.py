"""The HTTP surface every endpoint shares: error shape, headers, client address, dev-only routes."""

from __future__ import annotations

import ipaddress
import logging

import aiohttp
import pytest

from asistencia.app import create_app
from tests.helpers import bearer, error_of


async def test_unknown_api_route_is_json_404(client):
    assert await error_of(await client.get("/api/nothing-here")) == (404, "NOT_FOUND")


async def test_unknown_page_is_an_html_page(client):
    response = await client.get("/no-such-page")
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "No encontramos esta página" in await response.text()


async def test_wrong_method_is_json_405(client):
    assert await error_of(await client.delete("/health")) == (405, "METHOD_NOT_ALLOWED")


async def test_dev_routes_do_not_exist_outside_dev_mode(client):
    response = await client.post("/api/dev/token", json={"role": "profesor"})
    assert await error_of(response) == (404, "NOT_FOUND")


async def test_dev_token_endpoint_mints_working_tokens_in_dev_mode(make_client, config):
    client = await make_client(config.replace(dev=True))
    response = await client.post("/api/dev/token", json={"role": "profesor", "user_id": 77, "username": "p@x.cl"})
    assert response.status == 200
    token = (await response.json())["token"]
    me = await client.get("/api/me", headers=bearer(token))
    assert (await me.json())["id"] == 77 and (await me.json())["role"] == "profesor"


async def test_bad_json_and_invalid_fields_get_clear_errors(make_client, config):
    client = await make_client(config.replace(dev=True))
    response = await client.post("/api/dev/token", data="{not json", headers={"Content-Type": "application/json"})
    assert await error_of(response) == (400, "INVALID_JSON")
    response = await client.post("/api/dev/token", json={"role": "wizard", "surprise": 1})
    assert await error_of(response) == (400, "VALIDATION_FAILED")
    fields = (await (await client.post("/api/dev/token", json={"role": "wizard", "surprise": 1})).json())["error"]["fields"]
    assert set(fields) == {"role", "surprise"}
    response = await client.post("/api/dev/token", json=["a", "list"])
    assert await error_of(response) == (400, "VALIDATION_FAILED")


async def test_oversized_body_is_refused(make_client, config):
    client = await make_client(config.replace(dev=True))
    response = await client.post("/api/dev/token", data="x" * 200_000, headers={"Content-Type": "application/json"})
    assert await error_of(response) == (413, "PAYLOAD_TOO_LARGE")


async def test_unexpected_error_is_a_bare_500_with_request_id(aiohttp_client, config, caplog):
    app = create_app(config)

    async def boom(request):
        raise RuntimeError("secret internals: password=hunter2")

    app.router.add_get("/api/boom", boom)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.ERROR, logger="asistencia.errors"):
        response = await client.get("/api/boom", headers={"X-Request-Id": "req-12345678"})
    text = await response.text()
    assert await error_of(response) == (500, "INTERNAL_ERROR")
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert "req-12345678" in text
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == "req-12345678"]
    assert logged and logged[0].exc_info is not None


async def test_a_client_gone_mid_answer_is_no_server_error(aiohttp_client, config, caplog):
    """A page closed during a WebSocket upgrade makes the write fail: logged as gone, not as a 500."""
    app = create_app(config)

    async def leaves(request):
        request.transport.close()
        raise ConnectionResetError("Cannot write to closing transport")

    async def resets(request):
        raise ConnectionResetError("a reset while the client is still there is a real error")

    app.router.add_get("/api/leaves", leaves)
    app.router.add_get("/api/resets", resets)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.INFO):
        with pytest.raises(aiohttp.ClientError):
            await client.get("/api/leaves")
        assert (await client.get("/api/resets")).status == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.path for r in errors] == ["/api/resets"]
    assert any(r.getMessage() == "client gone" and r.path == "/api/leaves" for r in caplog.records)


async def test_security_headers(client):
    api = await client.get("/health")
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in api.headers["Content-Security-Policy"]
    assert api.headers["Referrer-Policy"] == "same-origin"
    assert len(api.headers["X-Request-Id"]) >= 8
    page = await client.get("/asistencia/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"


def _remote_of(caplog, path):
    return [r.remote for r in caplog.records if r.name == "asistencia.access" and r.path == path][-1]


async def test_forwarded_for_believed_only_from_trusted_proxy(make_client, config, caplog):
    caplog.set_level(logging.INFO, logger="asistencia.access")
    trusted = await make_client(config)  # the test client connects from 127.0.0.1, trusted by default
    await trusted.get("/health", headers={"X-Forwarded-For": "203.0.113.9"})
    assert _remote_of(caplog, "/health") == "203.0.113.9"

    await trusted.get("/health", headers={"X-Forwarded-For": "198.51.100.4, 127.0.0.1"})
    assert _remote_of(caplog, "/health") == "198.51.100.4"

    untrusted = await make_client(config.replace(trusted_proxies=(ipaddress.ip_network("10.1.2.3/32"),)))
    await untrusted.get("/health", headers={"X-Forwarded-For": "203.0.113.9"})
    assert _remote_of(caplog, "/health") == "127.0.0.1"


async def test_malformed_forwarded_for_from_proxy_is_a_json_400(client):
    response = await client.get("/health", headers={"X-Forwarded-For": "not-an-ip"})
    assert await error_of(response) == (400, "BAD_FORWARDED_FOR")


async def test_one_access_log_line_per_request(client, token, caplog):
    caplog.set_level(logging.INFO, logger="asistencia.access")
    await client.get("/api/me", headers=bearer(token("profesor", user_id=5)))
    lines = [r for r in caplog.records if r.name == "asistencia.access"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.path, line.status, line.user_id) == ("GET", "/api/me", 200, 5)
    assert line.duration_ms >= 0 and line.request_id


async def test_dev_token_for_a_demo_user_carries_their_name(make_client, config):
    from asistencia.demo import DEMO_USERS

    client = await make_client(config.replace(dev=True))
    student = [user for user in DEMO_USERS if user.role == "alumno"][2]
    response = await client.post("/api/dev/token", json={"role": "alumno", "user_id": student.id})
    me = await (await client.get("/api/me", headers=bearer((await response.json())["token"]))).json()
    assert (me["username"], me["full_name"]) == (student.username, student.full_name)
