"""static/js/lib/qr.js and camera.js in Chromium: what the projector draws, the scanner reads."""

from __future__ import annotations

import base64
import os

import pytest

from asistencia import crypto
from tests.browser.harness import built, call_module, qr_camera_frame, save_screenshot

pytestmark = pytest.mark.browser

# A screenshot (PNG) drawn on a canvas by the page itself: `await pngCanvas(png)`.
PNG_CANVAS = """async function pngCanvas(png) {
        const image = new Image();
        image.src = `data:image/png;base64,${png}`;
        await image.decode();
        const canvas = document.createElement("canvas");
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        canvas.getContext("2d").drawImage(image, 0, 0);
        return canvas;
    }"""

# The screenshot's pixels decoded by qr.js.
DECODE_PNG = """async (qr, {png, grid}) => {
    %s
    const canvas = await pngCanvas(png);
    const frame = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    return grid ? qr.decodeQrGrid(frame, grid) : qr.decodeQr(frame);
}""" % PNG_CANVAS

# The screenshot's pixels sent `frames` times to the scanner's worker, as the camera loop does.
WORKER_READS_PNG = """async ({png, frames}) => {
    %s
    const canvas = await pngCanvas(png);
    const worker = new Worker("/static/js/pages/qr_worker.js", { type: "module" });
    const answers = [];
    for (let i = 0; i < frames; i += 1) {
        const { data, width, height } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
        answers.push(await new Promise((resolve) => {
            worker.addEventListener("message", ({ data: texts }) => resolve(texts), { once: true });
            worker.postMessage({ data, width, height }, [data.buffer]);
        }));
    }
    worker.terminate();
    return answers;
}""" % PNG_CANVAS


async def worker_answers(page, png: bytes, *, frames: int) -> list[list[str]]:
    """The scanner worker's answers to `frames` copies of a PNG screenshot."""
    return await page.evaluate(built(WORKER_READS_PNG), {"png": base64.b64encode(png).decode(), "frames": frames})


def payload() -> str:
    """A QR text shaped like the server's: 50 bytes as 75 base45 characters."""
    text = crypto.base45_encode(os.urandom(50))
    assert len(text) == 75
    return text


async def decode_screenshot(page, png: bytes, grid: int | None = None):
    return await call_module(page, "qr.js", DECODE_PNG, {"png": base64.b64encode(png).decode(), "grid": grid})


async def test_a_drawn_code_reads_back_from_a_screenshot(page, request):
    text = payload()
    drawn = await call_module(page, "qr.js", """(qr, text) => {
        const canvas = document.createElement("canvas");
        canvas.id = "code";
        document.querySelector("main").append(canvas);
        return qr.drawQr(canvas, text, { pixels: 400 });
    }""", text)
    # Version 4 (33 modules) holds 75 characters at level M only in alphanumeric mode.
    assert drawn == {"modules": 33, "moduleSize": 9, "size": (33 + 8) * 9}
    png = await page.locator("#code").screenshot()
    await save_screenshot(page, request.node.name, "qr")
    found = await decode_screenshot(page, png)
    assert found["text"] == text
    assert found["modules"] == 33


async def test_text_outside_the_alphanumeric_set_still_encodes(page):
    found = await call_module(page, "qr.js", """(qr) => {
        const canvas = document.createElement("canvas");
        qr.drawQr(canvas, "http://localhost/asistencia/?code=abc", { pixels: 300 });
        return qr.decodeQr(canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height));
    }""")
    assert found["text"] == "http://localhost/asistencia/?code=abc"


@pytest.mark.parametrize(("grid", "spacing"), [(2, 0), (3, 0), (3, 36)], ids=["2x2", "3x3", "3x3-spaced"])
async def test_every_code_of_a_tilted_grid_reads_back(page, request, grid, spacing):
    texts = [payload() for _ in range(grid * grid)]
    await call_module(page, "qr.js", """(qr, {texts, grid, spacing}) => {
        const scene = document.createElement("canvas");
        scene.id = "grid";
        scene.width = 960;
        scene.height = 720;
        document.querySelector("main").append(scene);
        const context = scene.getContext("2d");
        context.fillStyle = "#666";
        context.fillRect(0, 0, scene.width, scene.height);
        context.translate(480, 360);
        context.rotate(0.06);
        texts.forEach((text, i) => {
            const code = document.createElement("canvas");
            const { size } = qr.drawQr(code, text, { pixels: 620 / grid - spacing });
            const pitch = size + spacing;
            context.drawImage(code, (i % grid - grid / 2) * pitch, (Math.floor(i / grid) - grid / 2) * pitch);
        });
    }""", {"texts": texts, "grid": grid, "spacing": spacing})
    png = await page.locator("#grid").screenshot()
    await save_screenshot(page, request.node.name, "grid")
    alone = await decode_screenshot(page, png)
    assert alone is None or alone["text"] in texts, "a whole-frame decode reads one code of a grid at most"
    assert sorted(await decode_screenshot(page, png, grid)) == sorted(texts)
    if spacing == 0:
        # The projector's layout (edge to edge): the scanner's worker reads them all, frame after frame.
        assert [sorted(answer) for answer in await worker_answers(page, png, frames=2)] == [sorted(texts)] * 2


async def test_the_camera_path_reads_a_code_from_a_fake_camera(page, camera_browser, open_page, server, request):
    text = payload()
    frame = await qr_camera_frame(page, text, width=640, height=480, qr_pixels=300)
    scanner = await open_page(server, on=await camera_browser([frame]), permissions=["camera"])
    found = await call_module(scanner, "camera.js", """async (camera) => {
        const qr = await import("/static/js/lib/qr.js");
        const video = document.createElement("video");
        document.querySelector("main").append(video);
        await camera.openCamera(video);
        const canvas = document.createElement("canvas");
        for (let attempt = 0; attempt < 100; attempt += 1) {
            const frame = camera.grabFrame(video, canvas);
            const found = frame && qr.decodeQr(frame);
            if (found) {
                return { text: found.text, width: frame.width, height: frame.height };
            }
            await new Promise((resolve) => requestAnimationFrame(resolve));
        }
        return null;
    }""")
    await save_screenshot(scanner, request.node.name, "camera")
    assert found == {"text": text, "width": 640, "height": 480}
    stopped = await call_module(scanner, "camera.js", """(camera) => {
        const video = document.querySelector("video");
        const tracks = video.srcObject.getTracks();
        camera.closeCamera(video);
        return tracks.map((track) => track.readyState).concat(String(video.srcObject));
    }""")
    assert stopped == ["ended", "null"]


async def test_a_refused_camera_is_a_camera_error(page, camera_browser, open_page, server):
    frame = await qr_camera_frame(page, payload())
    scanner = await open_page(server, on=await camera_browser([frame]))  # no camera permission granted
    refused = await call_module(scanner, "camera.js", """(camera) =>
        camera.openCamera(document.createElement("video")).then(
            () => "opened", (error) => `${error.name} ${error.code}`)""")
    assert refused == "CameraError CAMERA_DENIED"


async def test_the_scanner_worker_answers_a_frame_it_cannot_decode_and_goes_on(page):
    """A frame the decoder throws on must not leave the scanner waiting for an answer that never comes."""
    text = payload()
    answers = await page.evaluate(built("""async (text) => {
        const qr = await import("/static/js/lib/qr.js");
        const canvas = document.createElement("canvas");
        qr.drawQr(canvas, text, { pixels: 400 });
        const good = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
        const worker = new Worker("/static/js/pages/qr_worker.js", { type: "module" });
        const errors = [];
        worker.addEventListener("error", (event) => { errors.push(event.message); event.preventDefault(); });
        const answer = (frame) => new Promise((resolve) => {
            worker.addEventListener("message", ({ data }) => resolve(data), { once: true });
            setTimeout(() => resolve("no answer"), 5000);
            worker.postMessage(frame);
        });
        const broken = await answer({ data: null, width: 64, height: 64 });
        const next = await answer({ data: good.data, width: good.width, height: good.height });
        worker.terminate();
        return { broken, next, errors: errors.length };
    }"""), text)
    assert answers == {"broken": [], "next": [text], "errors": 1}


# Nine payloads whose tilted 3×3 grid (drawn by TILTED_GRID) has one code the vendored decoder
# reads in no full-size window: it takes a patch of that code's data for a finder pattern.
HARD_GRID = [
    "/G$4Y FNQ24 YI:8MQHE UMVIAH9 ROQY%UH2D4M9KETHW30YS%AX:37EC+CGD-2SVI3:*U-UX ",
    "ZKJAO6/7KCQL6O+EKCTGZA1D7L95VF:UOHCDEUA8B7*U3HOF $TEPQK7CEBCR8BV 5F+M:-W8BZ",
    "2/G/J.53:ZP%$X0I59W69WT:JL9HHI*6IM+$V+XJ0IY:N4/4VA.WWH4$P-6-S$2K8VWKV2/5O6B",
    "8 +- +I%LF%:PI93O%5WTS2KD1J1HPXP7/OAA-6-1 -NHHU1% H$L-2*ZXEMQV101S2$MUFE00+",
    "RR90 .%11%C--SOC%KPQWU7ZWXIENX%CEHKTDJ19Z1.$T*ED6 C*D9Q3RE/L2LZZQO/-RYPIQVU",
    "2V+86KJIDI/ZK6*QHJ6$UBBKQJZV-J.Z7M0P 9-EQW*MFOU:OYPSKABV0%H9/26QLNQPP+%W0L2",
    "+ MFD3KT**VA3PV17Q09:+MRS40%D%WMCA16KD2$358XWP*Q%HIW 7XYKC*Z41U20QL F4K.DKT",
    "9$9:4ZFE-CFVZ3:W6:EJS1$X-SOMY0ZQZ$L%E*5YAT8GR$HANWUKUTUIXNFA:.1R01 W30BND$J",
    "CV:9WJ H6P0 TE120R5Z%Z$%*3.P5QHC-59J-3$M Z/:$*/1H.EW3HPHT+K-WL:LL1J-D9AB*MF",
]

# The codes edge to edge, turned 0.06 rad, sampled 2×2 per pixel: the same pixels in every browser
# (a canvas's own rotation is antialiased as the browser pleases).
TILTED_GRID = """(qr, {texts}) => {
    const codes = texts.map((text) => {
        const canvas = document.createElement("canvas");
        const { size } = qr.drawQr(canvas, text, { pixels: 206 });
        return { size, pixels: canvas.getContext("2d").getImageData(0, 0, size, size).data };
    });
    const size = codes[0].size;
    const [width, height, turn] = [960, 720, -0.06];
    const grey = (x, y) => {
        const [col, row] = [Math.floor(x / size + 1.5), Math.floor(y / size + 1.5)];
        if (col < 0 || row < 0 || col > 2 || row > 2) {
            return 0x66;
        }
        const [cx, cy] = [Math.floor(x + 1.5 * size - col * size), Math.floor(y + 1.5 * size - row * size)];
        return codes[row * 3 + col].pixels[(cy * size + cx) * 4];
    };
    const data = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y += 1) {
        for (let x = 0; x < width; x += 1) {
            let sum = 0;
            for (const [dx, dy] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]]) {
                const [px, py] = [x + dx - width / 2, y + dy - height / 2];
                sum += grey(Math.cos(turn) * px - Math.sin(turn) * py, Math.sin(turn) * px + Math.cos(turn) * py);
            }
            data.fill(sum / 4, (y * width + x) * 4, (y * width + x) * 4 + 3);
            data[(y * width + x) * 4 + 3] = 255;
        }
    }
    const frame = { data, width, height };
    return { alone: qr.decodeQr(frame)?.text ?? null, grid: qr.decodeQrGrid(frame, 3) };
}"""


async def test_a_grid_cell_the_decoder_misreads_at_full_size_is_read_at_half_size(page):
    found = await call_module(page, "qr.js", TILTED_GRID, {"texts": HARD_GRID})
    assert found["alone"] is None or found["alone"] in HARD_GRID
    assert sorted(found["grid"]) == sorted(HARD_GRID)
