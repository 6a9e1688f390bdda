"""A phone's camera pointed at the projector, for the class tests: the
projector page's own QR canvas, as drawn, copied into a LiveCamera.

Every copy is what the page drew: the canvas is scaled into a camera-sized
grey scene (as a camera sees a screen in a room) and turned into grey levels
in the page; nothing of the server's QR texts passes through the test.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib

from playwright.async_api import Page

from tests.browser.harness import LiveCamera

# The scene around the screen; null while the projector shows no codes
# (countdown, reconnecting, closed); "" when nothing changed since the last call.
GRAB_CANVAS = """([width, height]) => {
    const code = document.getElementById("qr-frame");
    if (code.hidden || !code.width) {
        window.feedLast = null;
        return null;
    }
    const scene = document.createElement("canvas");
    scene.width = width;
    scene.height = height;
    const context = scene.getContext("2d", { willReadFrequently: true });
    context.fillStyle = "#777";
    context.fillRect(0, 0, width, height);
    const side = Math.round(height * 0.92);
    context.drawImage(code, (width - side) / 2, (height - side) / 2, side, side);
    const rgba = context.getImageData(0, 0, width, height).data;
    const luma = new Uint8Array(width * height);
    for (let i = 0, j = 0; j < luma.length; i += 4, j += 1) {
        luma[j] = (77 * rgba[i] + 150 * rgba[i + 1] + 29 * rgba[i + 2]) >> 8;
    }
    const last = window.feedLast;
    if (last && last.length === luma.length && last.every((value, index) => value === luma[index])) {
        return "";
    }
    window.feedLast = luma;
    let binary = "";
    for (let i = 0; i < luma.length; i += 0x8000) {
        binary += String.fromCharCode(...luma.subarray(i, i + 0x8000));
    }
    return btoa(binary);
}"""


class ProjectorFeed:
    """Copies the projector's codes into `camera`, `delay` seconds late, while `on`.

    The delay is the person and the phone: a code reaches a real phone's
    decoder some time after it appears (a phone already aimed at the screen
    answers in 0.1–0.4 s); without it this test would be a bot reading the
    screen.
    """

    def __init__(self, projector: Page, camera: LiveCamera, *, delay: float, every: float = 0.05) -> None:
        self.projector = projector
        self.camera = camera
        self.delay = delay
        self.every = every
        self.on = False
        self._task: asyncio.Task | None = None

    async def _grab(self, previous: bytes | None) -> bytes | None:
        grabbed = await self.projector.evaluate(GRAB_CANVAS, [self.camera.width, self.camera.height])
        if grabbed == "":
            return previous
        return None if grabbed is None else base64.b64decode(grabbed)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        seen: collections.deque[tuple[float, bytes | None]] = collections.deque()
        latest: bytes | None = None
        shown: tuple[bool, bytes | None] | None = None
        while True:
            latest = await self._grab(latest)
            now = loop.time()
            seen.append((now, latest))
            due = None
            while seen and seen[0][0] <= now - self.delay:
                due = seen.popleft()
            if due is not None and (self.on, due[1]) != shown:
                shown = (self.on, due[1])
                if self.on and due[1] is not None:
                    self.camera.show(due[1])
                else:
                    self.camera.blank()
            await asyncio.sleep(self.every)

    @contextlib.asynccontextmanager
    async def running(self):
        self._task = asyncio.create_task(self._run())
        try:
            yield self
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
