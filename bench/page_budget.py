"""Pages on a phone: Lighthouse figures for every page, and the scanner on slow 4G.

Run against a dev server (`./scripts/dev`, whose WEBAUTHN_ORIGIN must be the
URL given here, e.g. `HOST=127.0.0.1 PORT=3000 ./scripts/dev`):

    .venv/bin/python -m bench.page_budget --url http://localhost:3000 [--runs 3]

First four students' phones (software passkeys, `asistencia.client`) join a
new session and scan its projected codes, so the professor's pages have
rows to lay out. Then two parts, each printing figures (medians of
`--runs`) and asserting nothing:

1. Lighthouse (npm's `lighthouse`, found in `bench/node_modules` after
   `npm ci --prefix bench`, or at `--lighthouse`) on the seven pages:
   mobile preset for the student's pages, desktop for the professor's.
   Performance, accessibility, cumulative layout shift, largest paint,
   bytes and requests. Each run is bounded (`--max-wait-for-load`, and a
   process timeout).
2. The scanner in Chromium with DevTools' slow-4G throttling (the figures
   Lighthouse's mobile preset uses when it applies throttling: 562.5 ms
   request latency, 1.47 Mbit/s down, 675 kbit/s up, CPU 4× slower): a
   phone enrolled on the device page opens the join link with an empty
   cache; the bench counts what a cold page and its decoder transfer, the
   static files requested after the tap, and the time from the tap to the
   first camera frame the decoder answers with a code; then a second visit
   and what it transfers.

Figures land in bench/results/page_budget.json. The regression checks with
fixed byte and request limits are tests (tests/browser/test_page_budget.py);
this bench is for the figures that depend on the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
from playwright.async_api import Page, async_playwright

from asistencia.client.scanner import Projection
from asistencia.config import DEV_JWT_SECRET, Config
from asistencia.tokens import User, mint_token
from bench.lib import emit_json, report
from tests.browser.harness import (
    CHROMIUM_ARGS,
    Transfers,
    add_virtual_authenticator,
    chromium_path,
    launch_chromium,
    write_y4m,
)

BENCH_DIR = Path(__file__).parent
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# Lighthouse's mobileSlow4G with its DevTools adjustment (RTT × 3.75, throughput × 0.9).
SLOW_4G = {"offline": False, "latency": 562.5,
           "downloadThroughput": 1474.56 * 1024 / 8, "uploadThroughput": 675 * 1024 / 8}
CPU_SLOWDOWN = 4
LIGHTHOUSE_TIMEOUT_S = 120

# Records, in the page, when the student tapped and when the decoder first answered with a code.
TIMING_SCRIPT = """
(() => {
  window.__budget = { tap: null, decoded: null };
  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest("#login") && window.__budget.tap === null) {
      window.__budget.tap = performance.now();
    }
  }, true);
  const Native = window.Worker;
  window.Worker = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", ({ data }) => {
        if (Array.isArray(data) && data.length > 0 && window.__budget.decoded === null) {
          window.__budget.decoded = performance.now();
        }
      });
    }
  };
})();
"""


def dev_token(base: str, role: str, user_id: int | None = None) -> str:
    body = {"role": role} | ({"user_id": user_id} if user_id else {})
    request = urllib.request.Request(f"{base}/api/dev/token", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["token"]


def create_session(base: str) -> dict:
    token = dev_token(base, "profesor")
    body = {"course_code": "BENCH101", "course_name": "Presupuesto de páginas", "room": "A-101"}
    request = urllib.request.Request(f"{base}/api/sessions", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


# Four students of the session: two finish their rounds, one is midway, one has just joined,
# so the dashboard, results and course pages have rows to lay out (as in class, not empty).
CLASS = [(3, "Ana Rojas"), (3, "Benjamín Soto"), (1, "Camila Díaz"), (0, "Diego Pérez")]


async def class_with_data(base: str, session: dict) -> None:
    """Real phones (software passkeys, asistencia.client) join the session and scan its projected codes."""
    from scripts.screenshots import ready_phone, scan_rounds

    config = Config(jwt_secret=DEV_JWT_SECRET, webauthn_rp_id="localhost", webauthn_origin=base)
    first = 1_970_000 + int(time.time()) % 10_000 * 10
    students = [(rounds, User(first + i, f"bench{first + i}", "alumno", name)) for i, (rounds, name) in enumerate(CLASS)]
    professor = User(1001, "profesora.demo@usm.cl", "profesor", "Profesora Demo")
    async with aiohttp.ClientSession() as http:
        phones = [(rounds, await ready_phone(http, config, base, user)) for rounds, user in students]
        for _, phone in phones:
            await phone.join(session["join_code"])
        token = mint_token(config, user_id=professor.id, username=professor.username, role=professor.role,
                           full_name=professor.full_name, ttl_seconds=600)
        async with Projection.open(http, base, token, session["id"]) as projection:
            await asyncio.gather(*(scan_rounds(phone, projection, rounds) for rounds, phone in phones if rounds))


def pages(base: str, session: dict) -> list[tuple[str, str, str]]:
    """(name, url, preset) of every page: students' on a phone, professors' on a desktop."""
    sid, course = session["id"], session["course_code"]
    return [
        ("home", f"{base}/asistencia/?as=alumno", "mobile"),
        ("device", f"{base}/asistencia/device?as=alumno", "mobile"),
        ("scan", f"{base}/asistencia/scan?as=alumno&code={session['join_code']}", "mobile"),
        ("sessions", f"{base}/asistencia/sessions?as=profesor", "desktop"),
        ("projector", f"{base}/asistencia/sessions/{sid}/projector?as=profesor", "desktop"),
        ("dashboard", f"{base}/asistencia/sessions/{sid}/dashboard?as=profesor", "desktop"),
        ("results", f"{base}/asistencia/sessions/{sid}/results?as=profesor", "desktop"),
        ("summary", f"{base}/asistencia/courses/{course}/summary?as=profesor", "desktop"),
    ]


def find_lighthouse(given: str | None) -> str | None:
    for candidate in (given, BENCH_DIR / "node_modules" / ".bin" / "lighthouse", shutil.which("lighthouse")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def lighthouse_once(lighthouse: str, url: str, preset: str) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "report.json"
        command = [lighthouse, url, "--output=json", f"--output-path={out}", "--quiet",
                   "--only-categories=performance,accessibility", "--max-wait-for-load=45000",
                   f"--chrome-flags={' '.join(CHROMIUM_ARGS)}"]
        if preset == "desktop":
            command.append("--preset=desktop")
        env = {**os.environ, "CHROME_PATH": chromium_path()}
        subprocess.run(command, env=env, check=True, timeout=LIGHTHOUSE_TIMEOUT_S,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = json.loads(out.read_text())
    audits = result["audits"]
    requests = audits["network-requests"]["details"]["items"]
    return {
        "performance": round(result["categories"]["performance"]["score"] * 100),
        "accessibility": round(result["categories"]["accessibility"]["score"] * 100),
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "bytes": audits["total-byte-weight"]["numericValue"],
        "requests": len(requests),
    }


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def lighthouse_part(lighthouse: str, targets: list[tuple[str, str, str]], runs: int) -> dict:
    figures = {}
    for name, url, preset in targets:
        figures[name] = {"preset": preset, **median_of([lighthouse_once(lighthouse, url, preset) for _ in range(runs)])}
    rows = [(name, f"{f['preset']:<7} perf {f['performance']:>3}  a11y {f['accessibility']:>3}  "
                   f"CLS {f['cls']:.3f}  LCP {f['lcp_ms']:>6.0f} ms  TBT {f['tbt_ms']:>4.0f} ms  "
                   f"{f['bytes'] / 1024:>6.1f} KB in {f['requests']:.0f} requests")
            for name, f in figures.items()]
    report(f"Lighthouse 12 (median of {runs})", rows)
    return figures


async def scanner_part(base: str, session: dict, runs: int) -> dict:
    results = []
    async with async_playwright() as driver:
        for attempt in range(runs):
            results.append(await scanner_once(driver, base, session, attempt))
    figures = median_of(results) | {"runs": results}
    report(f"Scanner on slow 4G, CPU ×{CPU_SLOWDOWN} (median of {runs})", [
        ("cold scan page, all it needs to decode", f"{figures['cold_kb']:.1f} KB in {figures['cold_requests']:.0f} requests"),
        ("static files requested after the tap", f"{figures['static_after_tap']:.0f}"),
        ("tap → first frame decoded", f"{figures['tap_to_decode_ms']:.0f} ms (runs: "
                                      + ", ".join(f"{run['tap_to_decode_ms']:.0f}" for run in results) + ")"),
        ("second visit: static files transferred", f"{figures['second_static']:.0f} ({figures['second_kb']:.1f} KB in all)"),
    ])
    return figures


async def decoded(page: Page, timeout: float = 60.0) -> None:
    """Until the decoder has answered with a code (polled: the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while await page.evaluate("() => window.__budget.decoded") is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the scanner decoded no frame")
        await asyncio.sleep(0.05)


async def scanner_once(driver, base: str, session: dict, attempt: int) -> dict:
    from tests.browser.harness import qr_camera_frame

    student = 1_990_000 + attempt + int(time.time()) % 10_000 * 10
    plain = await launch_chromium(driver)
    try:
        drawing = await (await plain.new_context(base_url=base)).new_page()
        await drawing.goto("/asistencia/?as=alumno")
        frame = await qr_camera_frame(drawing, "BENCH-CODE-NOT-FOR-THIS-PHONE")
    finally:
        await plain.close()
    with tempfile.TemporaryDirectory() as scratch:
        video = write_y4m(Path(scratch) / "camera.y4m", [frame])
        browser = await driver.chromium.launch(
            executable_path=chromium_path(), headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"])
        try:
            context = await browser.new_context(base_url=base, permissions=["camera"], **PHONE)
            page = await context.new_page()
            await add_virtual_authenticator(page)
            await page.goto(f"/asistencia/device?as=alumno&user_id={student}")
            await page.get_by_role("button", name="Inscribir este teléfono").click()
            await page.locator("#access-title").filter(has_text="Inicia la sesión del día").wait_for()
            cdp = await context.new_cdp_session(page)
            await cdp.send("Network.clearBrowserCache")
            await cdp.send("Storage.clearDataForOrigin", {"origin": base, "storageTypes": "cache_storage,service_workers"})
            await cdp.send("Network.enable")
            await cdp.send("Network.emulateNetworkConditions", SLOW_4G)
            await cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
            await page.add_init_script(TIMING_SCRIPT)
            transfers = Transfers(page)
            await page.goto(f"/asistencia/scan?code={session['join_code']}")
            login = page.get_by_role("button", name="Confirmar con huella, rostro o PIN")
            await login.wait_for(timeout=60_000)
            await transfers.settle()
            tapped = time.monotonic()
            await login.click()
            await decoded(page)
            await transfers.settle()
            budget = await page.evaluate("window.__budget")
            timeline = await page.evaluate("""() => performance.getEntriesByType("resource")
                .map((e) => [e.name.replace(location.origin, ""), e.startTime, e.responseEnd])""")
            cold = [seen for seen in transfers.seen if not seen["cached"]]
            cold_static_after_tap = transfers.static(since=tapped)
            # The second visit: the same phone opens the scanner again.
            second = Transfers(page)
            await page.goto(f"/asistencia/scan?code={session['join_code']}")
            await login.wait_for(timeout=60_000)
            await second.settle()
            await context.close()
        finally:
            await browser.close()
    if os.environ.get("BUDGET_VERBOSE"):
        for name, start, end in timeline:
            print(f"  {start - budget['tap']:+6.0f} … {end - budget['tap']:+6.0f} ms  {name}")
        for seen in transfers.seen:
            print(f"  {seen['at'] - tapped:+7.3f} s {'cache' if seen['cached'] else seen['bytes']:>6} {seen['url']}")
    return {
        "cold_kb": sum(seen["bytes"] for seen in cold) / 1024,
        "cold_requests": len(cold),
        "static_after_tap": len(cold_static_after_tap),
        "tap_to_decode_ms": budget["decoded"] - budget["tap"],
        "second_static": len(second.static()),
        "second_kb": sum(seen["bytes"] for seen in second.seen) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://localhost:3000", help="a dev server (./scripts/dev)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lighthouse", help="path of the lighthouse CLI (default: bench/node_modules)")
    parser.add_argument("--only", choices=["lighthouse", "scanner"])
    parser.add_argument("--pages", help="comma-separated page names for Lighthouse (default: all)")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    session = create_session(base)
    asyncio.run(class_with_data(base, session))
    figures: dict = {"url": base, "load_average": os.getloadavg()}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.only != "scanner":
        lighthouse = find_lighthouse(args.lighthouse)
        if lighthouse is None:
            print("lighthouse not found: npm ci --prefix bench (or --lighthouse PATH); skipping that part")
        else:
            targets = pages(base, session)
            if args.pages:
                wanted = set(args.pages.split(","))
                targets = [target for target in targets if target[0] in wanted]
            figures["lighthouse"] = lighthouse_part(lighthouse, targets, args.runs)
    if args.only != "lighthouse":
        figures["scanner"] = asyncio.run(scanner_part(base, session, args.runs))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    emit_json("page_budget", figures)


if __name__ == "__main__":
    main()
