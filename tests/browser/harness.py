"""Helpers for driving Debian's Chromium with Playwright (async API).

Fixtures live in `conftest.py`; what a test calls directly lives here:
loading a page's JS module, a virtual WebAuthn authenticator, a fake camera
video, screenshots, and the collector of page errors.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import json
import re
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Playwright

from asistencia.assets import Assets
from asistencia.config import Config
from tests.helpers import ARTIFACTS

SCREENSHOTS = ARTIFACTS / "browser"

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_path() -> str:
    """The system's Chromium; fails (never skips) the test when it is missing."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Chromium is not installed: the browser tests drive Debian's chromium "
                "(run scripts/ensure-chromium as root, or 'sudo apt-get install chromium')")


async def launch_chromium(playwright: Playwright, *, fake_video: Path | None = None) -> Browser:
    """Headless Chromium; with `fake_video` (a .y4m file) as the camera every page sees."""
    args = list(CHROMIUM_ARGS)
    if fake_video is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={fake_video}"]
    return await playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=args)


# --- JS modules ------------------------------------------------------------------

@functools.cache
def built_assets() -> Assets:
    """The browser files the servers under test serve (scripts/test builds them first)."""
    return Assets.load(Config().static_dir)


_SOURCE_PATH = re.compile(r"/static/((?:js|css)/[\w/.-]+?\.(?:js|css))")


def built(script: str) -> str:
    """`script` with every source path (`/static/js/lib/qr.js`) replaced by its built file's URL."""
    return _SOURCE_PATH.sub(lambda match: built_assets().url(match.group(1)), script)


async def call_module(page: Page, module: str, function: str, arg=None):
    """Run `function(module, arg)` in the page, `module` (js/lib/) imported as built.

    The import goes through the page's own CSP, like a page script's would;
    source paths inside `function` are resolved to built files too.
    """
    path = json.dumps(f"/static/js/lib/{module}")
    script = f"async (arg) => {{ const module = await import({path}); return await ({function})(module, arg); }}"
    return await page.evaluate(built(script), arg)


# --- what pages download ----------------------------------------------------------

class Transfers:
    """Every response a page (and its workers) got, with the bytes that came over the network."""

    def __init__(self, page: Page) -> None:
        self.seen: list[dict] = []
        self._pending: set[asyncio.Task] = set()
        page.on("requestfinished", self._finished)

    def _finished(self, request) -> None:
        task = asyncio.ensure_future(self._record(request))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, request) -> None:
        response = await request.response()
        sizes = await request.sizes()
        transferred = max(0, sizes["responseHeadersSize"]) + max(0, sizes["responseBodySize"])
        # Served by the service worker or the HTTP cache (no body came): nothing came over the network.
        from_cache = response is not None and (response.from_service_worker or sizes["responseBodySize"] <= 0)
        self.seen.append({"url": request.url, "at": time.monotonic(), "cached": from_cache,
                          "status": response.status if response else None, "bytes": 0 if from_cache else transferred})

    async def settle(self) -> None:
        await asyncio.sleep(0.5)
        if self._pending:
            await asyncio.gather(*self._pending)

    def network(self, since: float = 0.0) -> list[dict]:
        """What came over the network (not from a cache) from `since` (time.monotonic()) on."""
        return [seen for seen in self.seen if not seen["cached"] and seen["at"] >= since]

    def static(self, since: float = 0.0) -> list[dict]:
        return [seen for seen in self.seen if "/static/" in seen["url"] and not seen["cached"] and seen["at"] >= since]


# --- errors a page must never show ------------------------------------------------------

class PageProblems:
    """Uncaught page errors, console errors and CSP violations of a page.

    A test expecting some (a 401 it provokes, say) declares them with
    `allow(pattern)`; anything else fails the test at teardown.
    """

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._allowed: list[re.Pattern[str]] = []

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.seen.append(f"uncaught error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium reports CSP violations and failed loads as console errors too.
        if message.type == "error":
            self.seen.append(f"console error: {message.text} ({message.location.get('url')})")

    def allow(self, pattern: str) -> None:
        self._allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [seen for seen in self.seen if not any(p.search(seen) for p in self._allowed)]

    def check(self) -> None:
        problems = self.unexpected()
        assert not problems, "the page reported problems:\n" + "\n".join(problems)


# --- screenshots -----------------------------------------------------------------

def artifact_name(test_name: str, label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{test_name}-{label}").strip("_")


async def save_screenshot(page: Page, test_name: str, label: str) -> Path:
    """A full-page PNG under test-artifacts/browser/, for people to review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{artifact_name(test_name, label)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


# --- WebAuthn ------------------------------------------------------------------------

@dataclasses.dataclass
class VirtualAuthenticator:
    """A Chromium virtual platform authenticator (CDP WebAuthn domain) attached to one page."""

    id: str
    _cdp: object

    async def credentials(self) -> list[dict]:
        reply = await self._cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return reply["credentials"]

    async def add_credential(self, credential: dict) -> None:
        """Put a credential (as `credentials()` lists it, private key included) in this authenticator."""
        await self._cdp.send("WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential})

    async def refuse_user_verification(self) -> None:
        """From now on the user fails (or cancels) the fingerprint/PIN check."""
        await self._cdp.send("WebAuthn.setUserVerified", {"authenticatorId": self.id, "isUserVerified": False})

    async def remove(self) -> None:
        await self._cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})


async def add_virtual_authenticator(page: Page) -> VirtualAuthenticator:
    """A passkey-capable authenticator with user verification that always succeeds."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    reply = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }})
    return VirtualAuthenticator(reply["authenticatorId"], cdp)


# --- fake camera ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RgbaFrame:
    width: int
    height: int
    pixels: bytes  # RGBA, row by row, as canvas getImageData gives it


def _luma(frame: RgbaFrame) -> bytes:
    # BT.601 full range (the "C420jpeg" colour space), integer arithmetic.
    px = frame.pixels
    return bytes((77 * px[i] + 150 * px[i + 1] + 29 * px[i + 2]) >> 8 for i in range(0, len(px), 4))


def _y4m_header(width: int, height: int, fps: int) -> bytes:
    if width % 2 or height % 2:
        raise ValueError("y4m frames need an even width and height")
    return f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii")


def _neutral_chroma(width: int, height: int) -> bytes:
    # Chroma is neutral (128): QR codes need nothing but luma.
    return bytes([128]) * ((width // 2) * (height // 2) * 2)


def write_y4m(path: Path, frames: Iterable[RgbaFrame], fps: int = 10) -> Path:
    """A YUV4MPEG2 (4:2:0) video of grey-scale frames, which Chromium's
    --use-file-for-fake-video-capture plays in a loop as the camera."""
    frames = list(frames)
    width, height = frames[0].width, frames[0].height
    if any((f.width, f.height) != (width, height) for f in frames):
        raise ValueError("y4m frames must share one size")
    header = _y4m_header(width, height, fps)
    chroma = _neutral_chroma(width, height)
    with path.open("wb") as out:
        out.write(header)
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(_luma(frame))
            out.write(chroma)
    return path


class LiveCamera:
    """A fake camera whose picture the test changes while pages watch it.

    Chromium reads the --use-file-for-fake-video-capture file frame by frame
    as it plays, looping at its end; this file holds one frame, so
    overwriting that frame in place changes what every page's camera shows
    from the next frame on: a camera pointed at a screen. `show(luma)` takes
    the grey levels of width×height pixels, row by row.
    """

    GREY = 0x77

    def __init__(self, path: Path, width: int, height: int, fps: int = 10) -> None:
        self.path = path
        self.width = width
        self.height = height
        header = _y4m_header(width, height, fps)
        self._offset = len(header) + len(b"FRAME\n")
        with path.open("wb") as out:
            out.write(header + b"FRAME\n" + bytes([self.GREY]) * (width * height) + _neutral_chroma(width, height))

    def show(self, luma: bytes) -> None:
        if len(luma) != self.width * self.height:
            raise ValueError("a frame is width × height grey levels")
        with self.path.open("r+b") as out:
            out.seek(self._offset)
            out.write(luma)

    def blank(self) -> None:
        """Nothing in view (a grey wall)."""
        self.show(bytes([self.GREY]) * (self.width * self.height))


async def qr_camera_frame(page: Page, text: str, *, width: int = 640, height: int = 480,
                          qr_pixels: int = 320) -> RgbaFrame:
    """`text` drawn by the page's qr.js, centred on a grey scene of width×height: a camera's view of it."""
    data = await call_module(page, "qr.js", """(qr, [text, width, height, pixels]) => {
        const code = document.createElement("canvas");
        qr.drawQr(code, text, { pixels });
        const scene = document.createElement("canvas");
        scene.width = width;
        scene.height = height;
        const context = scene.getContext("2d");
        context.fillStyle = "#777";
        context.fillRect(0, 0, width, height);
        context.drawImage(code, (width - code.width) / 2, (height - code.height) / 2);
        const rgba = context.getImageData(0, 0, width, height).data;
        let binary = "";
        for (let i = 0; i < rgba.length; i += 0x8000) {
            binary += String.fromCharCode(...rgba.subarray(i, i + 0x8000));
        }
        return btoa(binary);
    }""", [text, width, height, qr_pixels])
    return RgbaFrame(width, height, base64.b64decode(data))
