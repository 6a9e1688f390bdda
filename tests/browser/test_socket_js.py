"""static/js/lib/socket.js in Chromium against the real /ws endpoint."""

from __future__ import annotations

import asyncio
import time

import pytest

from asistencia.appkeys import WEBSOCKETS
from asistencia.tokens import mint_token
from asistencia.ws.endpoint import close_all
from tests.browser.conftest import LiveServer
from tests.browser.harness import call_module
from tests.helpers import TcpProxy

pytestmark = pytest.mark.browser

# Starts a LiveSocket with the page's tokens and records what it reports in window.live.
START = """(socket, options) => {
    const live = { states: [], ready: [], messages: [], closed: null };
    window.live = live;
    return import("/static/js/lib/api.js").then((api) => {
        live.socket = new socket.LiveSocket({
            tokens: api.pageApi().tokens,
            onReady: (user, { reconnected }) => live.ready.push({ user, reconnected }),
            onMessage: (message) => live.messages.push(message),
            onStateChange: (state, detail) => {
                live.states.push(state);
                live.closed = detail;
            },
            ...options,
        });
        live.socket.start();
    });
}"""

PING = "() => window.live.socket.request('ping')"


async def start_socket(page, **options) -> None:
    await call_module(page, "socket.js", START, options)


async def ready_count(page, count: int) -> None:
    await page.wait_for_function(f"() => window.live.ready.length >= {count}")


async def test_authenticates_and_gets_replies_by_id(open_page, server):
    page = await open_page(server, "/asistencia/?as=profesor&user_id=77")
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    await start_socket(page)
    await ready_count(page, 1)
    reply = await page.evaluate(PING)
    assert abs(reply["server_time_ms"] - time.time() * 1000) < 5000
    live = await page.evaluate("() => ({ states: window.live.states, ready: window.live.ready })")
    assert live["states"] == ["connecting", "open"]
    assert live["ready"] == [{"user": {"id": 77, "username": "user77", "role": "profesor"}, "reconnected": False}]
    assert '"type":"auth"' in sent[0] and sent[1] == '{"type":"ping","id":1}'

    error = await page.evaluate("""() => window.live.socket.request("teleport").catch(
        (error) => ({ name: error.name, code: error.code }))""")
    assert error == {"name": "ApiError", "code": "UNKNOWN_COMMAND"}


async def test_reconnects_and_authenticates_again_after_the_server_drops_it(open_page, server):
    page = await open_page(server, "/asistencia/?as=alumno")
    await start_socket(page)
    await ready_count(page, 1)
    await close_all(server.app)  # what a server going away does: 1001 to every socket
    await ready_count(page, 2)
    assert (await page.evaluate(PING))["server_time_ms"] > 0
    live = await page.evaluate("() => ({ states: window.live.states, ready: window.live.ready })")
    assert live["states"] == ["connecting", "open", "reconnecting", "open"]
    assert [entry["reconnected"] for entry in live["ready"]] == [False, True]


async def test_an_expired_token_is_refreshed_when_the_server_refuses_it(serve, dev_config, open_page):
    server = await serve(dev_config.replace(jwt_leeway_seconds=0))
    page = await open_page(server, None)
    await page.clock.set_fixed_time(time.time() - 120)  # the phone believes its token is still good
    token_fetches = []
    first: list[dict] = []
    stuck = asyncio.Event()

    async def bridge(route):
        # After the first token the bridge keeps answering that same one, so the socket's
        # renewal cannot replace it and it expires.
        if stuck.is_set():
            await route.fulfill(json=first[0])
            return
        response = await route.fetch()
        token_fetches.append(1)
        if not first:
            first.append(await response.json())
            stuck.set()
        await route.fulfill(response=response)

    await page.route("**/api/dev/token", bridge)
    await page.goto("/asistencia/?as=alumno&ttl=2")
    await start_socket(page)
    await ready_count(page, 1)
    await asyncio.sleep(2.5)
    stuck.clear()
    await close_all(server.app)
    await ready_count(page, 2)  # 4401 with the stale token, then a fresh token
    assert len(token_fetches) == 2
    assert await page.evaluate("() => window.live.states") == ["connecting", "open", "reconnecting", "open"]


async def test_renews_its_token_on_the_open_socket_before_it_expires(serve, dev_config, open_page):
    server = await serve(dev_config.replace(jwt_leeway_seconds=0, socket_token_grace_seconds=30))
    page = await open_page(server, None)
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    await page.goto("/asistencia/?as=alumno&ttl=3")
    await start_socket(page)
    await ready_count(page, 1)
    await asyncio.sleep(3.5)  # past the first token's expiry
    refused = await page.evaluate("""() => window.live.socket.request("join", { code: "ABCDEF" }).catch(
        (error) => error.code)""")
    assert refused == "JOIN_CODE_UNKNOWN", "the join ran: the socket holds a live token"
    assert sum('"type":"auth"' in frame for frame in sent) >= 2, "the first auth, then a renewal"
    assert await page.evaluate("() => window.live.states") == ["connecting", "open"], "no reconnection"


async def test_gives_up_when_a_fresh_token_is_refused_too(server, open_page):
    page = await open_page(server, None)
    await page.clock.set_fixed_time(time.time() - 600)
    stale = mint_token(server.config, user_id=7, username="u7", role="alumno", ttl_seconds=-120)
    await page.route("**/api/dev/token", lambda route: route.fulfill(json={"token": stale}))
    await page.goto("/asistencia/")
    await start_socket(page)
    await page.wait_for_function("() => window.live.closed !== null")
    live = await page.evaluate("() => ({ states: window.live.states, closed: window.live.closed })")
    assert live["states"] == ["connecting", "closed"]
    assert live["closed"] == {"code": 4401, "reason": "TOKEN_EXPIRED", "error": None}
    refused = await page.evaluate("""() => window.live.socket.request("ping").catch((error) => error.code)""")
    assert refused == "NOT_CONNECTED"


async def test_a_connection_that_stops_answering_is_replaced(server, open_page):
    port = int(server.url.rsplit(":", 1)[1])
    proxy = await TcpProxy("127.0.0.1", port).start()
    try:
        through_proxy = LiveServer(f"http://localhost:{proxy.port}", server.app, server.config)
        page = await open_page(through_proxy, "/asistencia/")
        await start_socket(page, heartbeat={"everyMs": 100, "silentMs": 300}, backoff={"initialMs": 50, "maxMs": 200})
        await ready_count(page, 1)
        proxy.stall()  # the network goes quiet without closing anything
        await page.wait_for_function("() => window.live.states.includes('reconnecting')")
        proxy.resume()
        await ready_count(page, 2)
        assert (await page.evaluate(PING))["server_time_ms"] > 0
    finally:
        await proxy.stop()


async def test_stop_closes_for_good_and_fails_pending_requests(page, server):
    await start_socket(page)
    await ready_count(page, 1)
    result = await page.evaluate("""async () => {
        const pending = window.live.socket.request("ping").catch((error) => error.code);
        window.live.socket.stop();
        return { pending: await pending, state: window.live.socket.state };
    }""")
    assert result == {"pending": "CONNECTION_LOST", "state": "closed"}
    for _ in range(50):  # the server sees the socket go
        if not server.app[WEBSOCKETS]:
            break
        await asyncio.sleep(0.1)
    assert not server.app[WEBSOCKETS]
    assert await page.evaluate("() => window.live.states") == ["connecting", "open", "closed"]
