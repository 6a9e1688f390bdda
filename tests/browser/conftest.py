"""Browser fixtures: the real app on a real port, headless Chromium, a page
watched for errors.

Everything runs inside the test's event loop: the app through aiohttp's
TestServer, Chromium through Playwright's async API. Pages are served from
http://localhost:<port> (WebAuthn refuses IP addresses as relying party),
and the app's WebAuthn origin is set to match.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, get_port_socket
from playwright.async_api import Browser, Page, Playwright, async_playwright

from asistencia.app import create_app
from asistencia.config import Config
from tests.browser.harness import LiveCamera, PageProblems, RgbaFrame, launch_chromium, save_screenshot, write_y4m

_REPORTS = pytest.StashKey[dict]()


@dataclasses.dataclass(frozen=True)
class LiveServer:
    url: str
    app: web.Application
    config: Config


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets the page fixture know whether the test failed (for a screenshot).
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def dev_config(config: Config) -> Config:
    """The test config in dev mode: pages get their tokens from /api/dev/token."""
    return config.replace(dev=True, token_url="/api/dev/token")


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Config], Awaitable[LiveServer]]]:
    """Start the real app for a config on a free 127.0.0.1 port: `await serve(config)`."""
    servers: list[TestServer] = []

    async def start(config: Config) -> LiveServer:
        sock = get_port_socket("127.0.0.1", 0, socket.AF_INET)
        port = sock.getsockname()[1]
        origin = f"http://localhost:{port}"
        config = config.replace(webauthn_origin=origin, webauthn_rp_id="localhost")
        app = create_app(config)
        server = TestServer(app, host="127.0.0.1", port=port, socket_factory=lambda *_: sock)
        await server.start_server()
        servers.append(server)
        return LiveServer(origin, app, config)

    yield start
    while servers:
        await servers.pop().close()


@pytest.fixture
async def server(serve, dev_config) -> LiveServer:
    return await serve(dev_config)


@pytest.fixture
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver


@pytest.fixture
async def browser(playwright) -> AsyncIterator[Browser]:
    chromium = await launch_chromium(playwright)
    yield chromium
    await chromium.close()


@pytest.fixture
async def camera_browser(playwright, tmp_path) -> AsyncIterator[Callable[..., Awaitable[Browser]]]:
    """`await camera_browser(frames)`: a Chromium whose camera plays `frames` (RgbaFrame) in a loop,
    or shows what a LiveCamera is given."""
    launched: list[Browser] = []

    async def launch(frames: list[RgbaFrame] | LiveCamera, fps: int = 10) -> Browser:
        if isinstance(frames, LiveCamera):
            video = frames.path
        else:
            video = write_y4m(tmp_path / f"camera-{len(launched)}.y4m", frames, fps)
        chromium = await launch_chromium(playwright, fake_video=video)
        launched.append(chromium)
        return chromium

    yield launch
    for chromium in launched:
        await chromium.close()


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
async def open_page(request, browser, camera_browser, problems) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """`await open_page(server, path, on=browser, **context_options)`: a fresh context and page
    watched by `problems`; on failure a screenshot lands in test-artifacts/browser/.

    (It depends on `camera_browser` so that its pages are closed, and shot, before those browsers.)"""
    pages: list[Page] = []

    async def open_(live: LiveServer, path: str = "/asistencia/", *, on: Browser | None = None,
                    **context_options) -> Page:
        context = await (on or browser).new_context(base_url=live.url, **context_options)
        context.set_default_timeout(10_000)
        page = await context.new_page()
        problems.watch(page)
        pages.append(page)
        if path is not None:
            await page.goto(path)
        return page

    yield open_
    call = request.node.stash.get(_REPORTS, {}).get("call")
    for index, page in enumerate(pages):
        if call is not None and call.failed and not page.is_closed():
            await save_screenshot(page, request.node.name, f"failed-{index}")
        await page.context.close()
    problems.check()


@pytest.fixture
async def page(open_page, server) -> Page:
    """The app's home page (a real page with the real CSP) on the dev-mode server."""
    return await open_page(server)
