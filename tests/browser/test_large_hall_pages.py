"""Issue 12 in Chromium: a 40-phone class at the default projection for its size.

The course's roster has 40 students, so a session opened with the default
`projection_mode` ("auto") projects shared frames (docs/protocol.md §8).
Forty phones — each its own browser context with a virtual passkey — enroll,
open the join link, log in and scan every round through a fake camera fed
from the projector page's own canvas; the projector and the dashboard count
them ready ("40 de 40 listos").
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from playwright.async_api import expect

from asistencia.domain.rut import check_digit, student_id
from asistencia.tokens import User, mint_token
from tests.browser.class_feed import ProjectorFeed
from tests.browser.harness import LiveCamera, save_screenshot
from tests.browser.test_class_pages import AIM_DELAY, CAMERA_SIZE, DESKTOP, PROFESSOR, enrolled_phone

pytestmark = pytest.mark.browser

CLASS_SIZE = 40
ROUNDS = 3
# Enrolling and logging in a phone is a few page loads: this many at once on the shared cores.
AT_ONCE = 8
# Forty phones' pages share this machine's two cores (a real phone has its own): every page
# already scanning decodes its camera, so the later ones load and answer slower than a phone would.
SHARED_CORES_WAIT_MS = 60_000
HALL = {"countdown_seconds": 1, "qr_tick_ms": 333, "shared_round_gap_seconds": 2}


def _roster() -> list[User]:
    ruts = [f"{number}-{check_digit(number)}" for number in range(15_000_001, 15_000_001 + CLASS_SIZE)]
    return [User(student_id(rut), rut, "alumno", f"Estudiante {index:02d}") for index, rut in enumerate(ruts, 1)]


async def test_a_forty_phone_class_completes_on_the_default_projection(
        serve, dev_config, open_page, camera_browser, request, tmp_path):
    server = await serve(dev_config.replace(**HALL))
    students = _roster()
    professor = mint_token(server.config, user_id=PROFESSOR.id, username=PROFESSOR.username, role="profesor")
    async with aiohttp.ClientSession(base_url=server.url, headers={"Authorization": f"Bearer {professor}"}) as http:
        # Last week's session (the course's first: its size unknown, per-student codes), then the roster.
        first = {"course_code": "INF-239", "course_name": "Bases de Datos"}
        async with http.post("/api/sessions", json=first) as response:
            assert (await response.json())["projection_mode"] == "per_student"
        roster = {"students": [{"rut": s.username, "full_name": s.full_name} for s in students]}
        async with http.put("/api/courses/INF-239/roster", json=roster) as response:
            assert response.status == 200, await response.text()
        async with http.post("/api/sessions", json={"course_code": "INF-239", "course_name": "Bases de Datos",
                                                    "rounds": ROUNDS}) as response:
            session = await response.json()
    assert session["projection_mode"] == "shared"
    projector = await open_page(server, f"/asistencia/sessions/{session['id']}/projector?as=profesor", **DESKTOP)
    await expect(projector.locator("#qr-frame")).to_be_visible()
    # One code a frame, as tall as the screen allows (the readability floor is 45% of its height).
    height = await projector.evaluate("document.getElementById('qr-frame').getBoundingClientRect().height")
    assert height / DESKTOP["viewport"]["height"] >= 0.45
    dashboard = await open_page(server, f"/asistencia/sessions/{session['id']}/dashboard?as=profesor", **DESKTOP)

    camera = LiveCamera(tmp_path / "projector.y4m", *CAMERA_SIZE)
    phones_browser = await camera_browser(camera)
    feed = ProjectorFeed(projector, camera, delay=AIM_DELAY)
    limit = asyncio.Semaphore(AT_ONCE)

    async def enrolled(student: User):
        async with limit:
            return await enrolled_phone(open_page, server, phones_browser, student)

    async def joined(phone):
        async with limit:
            await phone.goto(f"/asistencia/scan?code={session['join_code']}")
            await phone.get_by_role("button", name="Confirmar con huella, rostro o PIN").click(
                timeout=SHARED_CORES_WAIT_MS)
            await expect(phone.locator("#rounds-label")).to_have_text(f"Rondas listas: 0 de {ROUNDS}",
                                                                      timeout=SHARED_CORES_WAIT_MS)

    async with feed.running():
        # Every phone enrolled before any scans: a scanning page decodes its camera all the time.
        phones = await asyncio.gather(*(enrolled(student) for student in students))
        await asyncio.gather(*(joined(phone) for phone in phones))
        await expect(projector.locator("#class-progress")).to_have_text(f"0 de {CLASS_SIZE} listos")
        feed.on = True
        for phone in phones:
            await expect(phone.locator("#outcome")).to_be_visible(timeout=180_000)
            await expect(phone.locator("#outcome-title")).to_have_text("¡Asistencia registrada!")
            await expect(phone.locator("#rounds-label")).to_have_text(f"Rondas listas: {ROUNDS} de {ROUNDS}")
    await expect(projector.locator("#class-progress")).to_have_text(f"{CLASS_SIZE} de {CLASS_SIZE} listos")
    await expect(dashboard.locator("#class-progress")).to_have_text(f"{CLASS_SIZE} de {CLASS_SIZE} listos")
    # Statuses are not checked here: forty pages decoding on two cores answer seconds late, which
    # the certainty rule rightly calls doubtful (bench.fairness measures the statuses).
    await expect(dashboard.locator("[data-counter=in_progress] dd")).to_have_text("0")
    await expect(dashboard.locator("[data-counter=joined] dd")).to_have_text(str(CLASS_SIZE))
    await save_screenshot(projector, request.node.name, "projector")
