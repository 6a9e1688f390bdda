"""The README's screenshots: a projector and a dashboard in the middle of a demo class.

Runs what `asistencia dev` runs (local PostgreSQL and Valkey, migrations, the
demo course and students) against a database of its own, opens a session as
the demo professor, makes four demo students' phones READY the real way
(software passkeys, `asistencia.client`) and has them join and scan the
projected codes, then photographs the two pages in headless Chromium
(`tests/browser/harness.py`). The database is dropped at the end.
"""

from __future__ import annotations

import asyncio
import random
import socket

import aiohttp
from aiohttp import web
from playwright.async_api import Page, async_playwright, expect

from asistencia.app import create_app
from asistencia.client import Authenticator, Device
from asistencia.client.scanner import Projection, Scanner
from asistencia.config import DEV_JWT_SECRET, PROJECT_ROOT, Config
from asistencia.demo import DEMO_COURSE, DEMO_USERS
from asistencia.devserver import dev_environment
from asistencia.localservices import drop_database
from asistencia.tokens import User, mint_token
from tests.browser.harness import launch_chromium

IMAGES = PROJECT_ROOT / "docs" / "img"
VIEWPORT = {"width": 1280, "height": 720}
PROFESSOR = next(user for user in DEMO_USERS if user.role == "profesor")
STUDENTS = [user for user in DEMO_USERS if user.role == "alumno"]
# Two finish, one is midway, one has just joined, one has not come.
FINISHING, MIDWAY, JUST_JOINED = STUDENTS[:2], STUDENTS[2], STUDENTS[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def token(config: Config, user: User) -> str:
    return mint_token(config, user_id=user.id, username=user.username, role=user.role,
                      full_name=user.full_name, ttl_seconds=3600)


async def ready_phone(http: aiohttp.ClientSession, config: Config, base: str, user: User) -> Scanner:
    """A phone enrolled and logged in for `user`, as its scanner; answers like a person aiming it."""
    phone = Device(http, base, token(config, user),
                   Authenticator(rp_id=config.webauthn_rp_id, origin=config.webauthn_origin))
    await phone.enroll()
    login = await phone.login()
    return Scanner(http, base, token(config, user), login.key, answer_delay=lambda: random.uniform(0.6, 1.4))


async def scan_rounds(scanner: Scanner, projection: Projection, rounds: int) -> None:
    """Answer this many rounds' codes as they are projected."""
    async for texts in projection.watch():
        scanner.see(texts)
        sighting = scanner.sighting(scanner.current_round)
        if sighting is None:
            continue
        await asyncio.sleep(scanner.answer_delay())
        await scanner.answer(sighting)
        rounds -= 1
        if rounds == 0:
            return


async def photograph(page: Page, path: str, ready: str, name: str, *, full_page: bool = False) -> None:
    await page.goto(path)
    await expect(page.locator(ready)).to_be_visible(timeout=15_000)
    await page.wait_for_timeout(1500)  # let the live counters and the next frame land
    await page.screenshot(path=str(IMAGES / name), full_page=full_page)
    print(f"wrote {(IMAGES / name).relative_to(PROJECT_ROOT)}")


async def class_in_progress(config: Config) -> None:
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", config.port).start()
    base = f"http://localhost:{config.port}"
    professor = {"Authorization": f"Bearer {token(config, PROFESSOR)}"}
    try:
        async with aiohttp.ClientSession() as http:
            body = {**DEMO_COURSE, "rounds": 3, "duration_minutes": 20, "late_after_minutes": 10}
            async with http.post(f"{base}/api/sessions", json=body, headers=professor) as response:
                response.raise_for_status()
                session = await response.json()
            phones = {user.id: await ready_phone(http, config, base, user)
                      for user in [*FINISHING, MIDWAY, JUST_JOINED]}
            for phone in phones.values():
                await phone.join(session["join_code"])
            async with Projection.open(http, base, token(config, PROFESSOR), session["id"]) as projection:
                await asyncio.gather(*(scan_rounds(phones[user.id], projection, 3) for user in FINISHING),
                                     scan_rounds(phones[MIDWAY.id], projection, 1))
            async with async_playwright() as playwright:
                browser = await launch_chromium(playwright)
                context = await browser.new_context(viewport=VIEWPORT, base_url=base)
                page = await context.new_page()
                await photograph(page, f"/asistencia/sessions/{session['id']}/projector?as=profesor",
                                 "#qr-frame", "projector.png")
                await photograph(page, f"/asistencia/sessions/{session['id']}/dashboard?as=profesor",
                                 "#roster-rows tr >> nth=3", "dashboard.png", full_page=True)
                await browser.close()
            async with http.post(f"{base}/api/sessions/{session['id']}/close", headers=professor) as response:
                response.raise_for_status()
    finally:
        await runner.cleanup()


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = Config(dev=True, jwt_secret=DEV_JWT_SECRET, token_url="/api/dev/token", host="127.0.0.1", port=port,
                    database_url="postgresql://postgres@127.0.0.1:5432/asistencia_screenshots",
                    valkey_prefix="asistencia-screenshots:", webauthn_origin=f"http://localhost:{port}",
                    countdown_seconds=0)
    with dev_environment(config, {}, PROJECT_ROOT) as dev_config:
        try:
            asyncio.run(class_in_progress(dev_config))
        finally:
            drop_database(dev_config.database_url)


if __name__ == "__main__":
    main()
