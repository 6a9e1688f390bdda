"""The installable scanner: web app manifest, service worker, offline shell (SPEC §3.8)."""

from __future__ import annotations

import asyncio
import shutil

import aiohttp
import pytest
from playwright.async_api import expect

from asistencia.i18n import load_catalog
from tests.browser.harness import built_assets

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SCAN = "/asistencia/scan?as=alumno"


async def test_the_manifest_makes_the_scanner_installable_in_spanish(page, server):
    await page.goto(SCAN)
    # The page's own requests finish before the server stops (else they are refused at teardown).
    await settled(page)
    href = await page.locator("link[rel=manifest]").get_attribute("href")
    assert href == built_assets().url("manifest.json")
    async with aiohttp.ClientSession(server.url) as http:
        async with http.get(href) as response:
            manifest = await response.json(content_type=None)
        icons = manifest["icons"]
        for icon in icons:
            async with http.get(icon["src"]) as response:
                assert response.status == 200 and response.content_type == "image/png", icon
                png = await response.read()
            width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
            assert f"{width}x{height}" == icon["sizes"], icon
    catalog = load_catalog("es-CL")
    assert manifest["name"] == catalog("app.name") and manifest["lang"] == "es-CL"
    assert manifest["start_url"] == "/asistencia/scan"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#") and manifest["background_color"].startswith("#")
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in icons if icon["purpose"] == "any"}
    assert any(icon["purpose"] == "maskable" for icon in icons)


async def settled(phone) -> None:
    """The scanner has read where the phone stands (nothing left in flight)."""
    await expect(phone.locator("#step")).to_have_attribute("aria-busy", "false")
    await phone.wait_for_load_state("networkidle")


async def test_the_service_worker_controls_the_scanner_after_one_reload_and_serves_it_offline(
        server, open_page, problems):
    phone = await open_page(server, SCAN, **PHONE)
    await settled(phone)
    await phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    assert await phone.evaluate("() => navigator.serviceWorker.controller") is None
    await phone.reload()
    await settled(phone)
    assert await phone.evaluate("() => navigator.serviceWorker.controller?.scriptURL") == \
        f"{server.url}/asistencia/sw.js"

    # What it keeps: this build's scanner files and the offline page, never an API answer or a token.
    cached = await phone.evaluate("""async () => {
        const names = await caches.keys();
        const urls = [];
        for (const name of names) {
            for (const request of await (await caches.open(name)).keys()) {
                urls.push(new URL(request.url).pathname);
            }
        }
        return { names, urls };
    }""")
    assert cached["names"] == [f"asistencia-{built_assets().version}"]
    assert "/asistencia/offline" in cached["urls"]
    assert built_assets().url("js/pages/qr_worker.js") in cached["urls"]
    assert all(url.startswith("/static/") or url == "/asistencia/offline" for url in cached["urls"]), cached

    problems.allow(r"ERR_INTERNET_DISCONNECTED")
    await phone.context.set_offline(True)
    await phone.goto("/asistencia/scan?code=ABCDEF")
    catalog = load_catalog("es-CL")
    await expect(phone.get_by_role("heading", level=1)).to_have_text(catalog("offline.title"))
    await expect(phone.get_by_text(catalog("offline.text"))).to_be_visible()
    # It stands at the URL opened: trying again keeps the class code.
    await expect(phone.get_by_role("link", name=catalog("offline.retry"))).to_have_attribute(
        "href", "/asistencia/scan?code=ABCDEF")
    # Back online, the page returns to the scanner by itself, code and all (no class has it here).
    problems.allow(r"status of 404 .*/api/attendance/session\?code=ABCDEF")
    await phone.context.set_offline(False)
    await expect(phone.locator("#join-error")).to_have_text(catalog("error.code.JOIN_CODE_UNKNOWN"))
    await settled(phone)


async def cache_names(page) -> list[str]:
    return await page.evaluate("() => caches.keys()")


async def test_a_deploy_reaches_phones_without_ever_mixing_builds(serve, dev_config, open_page, tmp_path):
    """An open scanner keeps the build it started with; once no page of it is open, the new one takes over."""
    build = tmp_path / "build"
    shutil.copytree(built_assets().directory, build)
    server = await serve(dev_config.replace(static_dir=build))
    phone = await open_page(server, SCAN, **PHONE)
    await phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    await phone.reload()
    await settled(phone)
    old = f"asistencia-{built_assets().version}"
    assert await cache_names(phone) == [old]

    # A deploy: a new build, whose service worker names another version.
    worker = build / "sw.js"
    worker.write_text(worker.read_text().replace(built_assets().version, "deployed0001"))
    for compressed in build.glob("sw.js.*"):
        compressed.unlink()
    await phone.evaluate("""async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        await registration.update();
        const worker = registration.installing ?? registration.waiting;
        if (worker.state === "installing") {
            await new Promise((resolve) => worker.addEventListener("statechange", resolve, { once: true }));
        }
    }""")
    await asyncio.sleep(1)  # time enough for a worker that does not wait to take over
    state = await phone.evaluate("""async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        return { waiting: registration.waiting?.state ?? null, active: registration.active.state };
    }""")
    assert state == {"waiting": "installed", "active": "activated"}
    assert sorted(await cache_names(phone)) == sorted([old, "asistencia-deployed0001"])

    context = phone.context
    await phone.close()
    fresh = await context.new_page()
    await fresh.goto(SCAN)
    await settled(fresh)
    for _ in range(100):
        if await cache_names(fresh) == ["asistencia-deployed0001"]:
            break
        await asyncio.sleep(0.1)
    assert await cache_names(fresh) == ["asistencia-deployed0001"]
