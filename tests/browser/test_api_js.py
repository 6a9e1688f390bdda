"""static/js/lib/api.js in Chromium: tokens from the dev or legacy endpoint, refresh, retry, errors."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import pytest

from asistencia.tokens import mint_token
from tests.browser.harness import call_module

pytestmark = pytest.mark.browser

ME = """async (api) => {
    const { api: client } = api.pageApi();
    try {
        return await client.get("/api/me");
    } catch (error) {
        return { name: error.name, status: error.status, code: error.code, isTokenError: error.isTokenError };
    }
}"""


def record_responses(page) -> list[tuple[str, int]]:
    """(path, status) of every response the page gets, in order."""
    seen: list[tuple[str, int]] = []
    page.on("response", lambda response: seen.append((urlsplit(response.url).path, response.status)))
    return seen


async def test_dev_identity_comes_from_the_query_and_is_remembered_for_the_tab(open_page, server):
    page = await open_page(server, "/asistencia/?as=profesor&user_id=4242")
    assert (await call_module(page, "api.js", ME))["id"] == 4242
    await page.goto("/asistencia/")
    me = await call_module(page, "api.js", ME)
    assert (me["id"], me["role"], me["username"]) == (4242, "profesor", "user4242")
    await page.goto("/asistencia/?as=alumno")
    me = await call_module(page, "api.js", ME)
    assert me["role"] == "alumno" and me["id"] != 4242

    # A page whose own script has not configured api.js yet (the offline page has none).
    elsewhere = await open_page(server, "/asistencia/offline")
    me = await call_module(elsewhere, "api.js", """(api) => api.pageApi({ devRole: "admin" }).api.get("/api/me")""")
    assert me["role"] == "admin"


async def used_token_now_expired(serve, dev_config, open_page, *, late_clock: bool):
    """A page that made one call with a 2-second token, 2.5 s ago, on a server without leeway.

    With `late_clock` the page's clock stands two minutes behind: it believes
    its expired token is still good. Returns the page and its recorded API responses.
    """
    server = await serve(dev_config.replace(jwt_leeway_seconds=0))
    page = await open_page(server, None)
    if late_clock:
        await page.clock.set_fixed_time(time.time() - 120)
    seen = record_responses(page)
    await page.goto("/asistencia/?as=alumno&ttl=2")
    assert (await call_module(page, "api.js", ME))["role"] == "alumno"
    await asyncio.sleep(2.5)
    return page, seen


def api_calls(seen: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [entry for entry in seen if entry[0].startswith("/api/")]


async def test_a_token_past_its_exp_is_replaced_before_use(serve, dev_config, open_page):
    page, seen = await used_token_now_expired(serve, dev_config, open_page, late_clock=False)
    assert (await call_module(page, "api.js", ME))["role"] == "alumno"
    assert api_calls(seen) == [("/api/dev/token", 200), ("/api/me", 200)] * 2


async def test_a_token_refused_as_expired_is_refreshed_and_the_call_retried_once(serve, dev_config, open_page, problems):
    page, seen = await used_token_now_expired(serve, dev_config, open_page, late_clock=True)
    problems.allow(r"status of 401 .*/api/me\)$")
    assert (await call_module(page, "api.js", ME))["role"] == "alumno"
    assert api_calls(seen) == [("/api/dev/token", 200), ("/api/me", 200),
                               ("/api/me", 401), ("/api/dev/token", 200), ("/api/me", 200)]


async def test_a_refresh_that_fails_is_reported_as_a_token_error(serve, dev_config, open_page, problems):
    page, seen = await used_token_now_expired(serve, dev_config, open_page, late_clock=True)
    # The user's session with the token endpoint is over.
    await page.route("**/api/dev/token", lambda route: route.fulfill(status=401, body=""))
    problems.allow(r"status of 401 .*/api/(me|dev/token)\)$")
    failure = await call_module(page, "api.js", ME)
    assert failure == {"name": "ApiError", "status": 401, "code": "TOKEN_UNAVAILABLE", "isTokenError": True}
    assert api_calls(seen)[2:] == [("/api/me", 401), ("/api/dev/token", 401)]


async def test_a_retry_refused_again_surfaces_the_server_error_without_looping(server, open_page, problems):
    page = await open_page(server, None)
    await page.clock.set_fixed_time(time.time() - 600)
    # Every token the endpoint hands out has expired beyond the leeway (a skewed token issuer).
    stale = mint_token(server.config, user_id=7, username="u7", role="alumno", ttl_seconds=-120)
    await page.route("**/api/dev/token", lambda route: route.fulfill(json={"token": stale}))
    seen = record_responses(page)
    await page.goto("/asistencia/")
    problems.allow(r"status of 401 .*/api/me\)$")
    failure = await call_module(page, "api.js", ME)
    assert failure == {"name": "ApiError", "status": 401, "code": "TOKEN_EXPIRED", "isTokenError": True}
    assert api_calls(seen) == [("/api/dev/token", 200), ("/api/me", 401)] * 2


async def test_error_answers_become_api_errors_with_code_and_fields(page, problems):
    problems.allow(r"status of 40[04] .*/api/")
    result = await call_module(page, "api.js", """async (api) => {
        const { api: client } = api.pageApi();
        const failure = (promise) => promise.then(() => "no error", (error) => ({
            name: error.name, status: error.status, code: error.code, fields: error.fields,
            isApiError: error instanceof api.ApiError, message: error.message,
        }));
        return [
            await failure(client.post("/api/dev/token", { role: "rector" })),
            await failure(client.get("/api/no-such-thing")),
        ];
    }""")
    invalid, missing = result
    assert invalid["isApiError"] and (invalid["status"], invalid["code"]) == (400, "VALIDATION_FAILED")
    assert list(invalid["fields"]) == ["role"]
    assert (missing["status"], missing["code"], missing["fields"]) == (404, "NOT_FOUND", None)
    assert missing["message"]


async def test_the_legacy_endpoint_is_asked_with_the_php_session_cookie(serve, config, open_page):
    server = await serve(config.replace(token_url="/api_get_asistencia_token.php"))
    asked = []

    async def legacy_bridge(route):
        request = route.request
        asked.append((request.method, await request.header_value("cookie")))
        token = mint_token(server.config, user_id=31, username="11111111-1", role="alumno",
                           full_name="Ñuñoa Pérez")
        await route.fulfill(status=200, content_type="application/json", body=json.dumps({"token": token}))

    page = await open_page(server, None)
    await page.context.add_cookies([{"name": "PHPSESSID", "value": "sesion-php", "url": server.url}])
    await page.route("**/api_get_asistencia_token.php", legacy_bridge)
    await page.goto("/asistencia/")
    result = await call_module(page, "api.js", """async (api) => {
        const { tokens, api: client } = api.pageApi();
        return { me: await client.get("/api/me"), name: tokens.claims.nombreCompleto };
    }""")
    assert result["me"]["id"] == 31
    assert result["name"] == "Ñuñoa Pérez"
    assert asked == [("GET", "PHPSESSID=sesion-php")]
