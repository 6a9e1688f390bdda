"""Issue 5 in Chromium: a whole class through the real pages.

A professor opens a session on the sessions page (launched from the legacy
app) and projects it; three students enroll their phones on the device page
with virtual passkeys, open the join link, log in and scan every round
through the camera — a fake camera showing what the projector page drew —
while the live dashboard fills in. Tokens expire mid-session and the server
drops every socket; nobody notices. A phone whose clock is off scans like
any other; a student whose attempts were used up is told so, gets a reset
from the dashboard and finishes. A revoked phone is told to enroll again.
"""

from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import Page, expect

from asistencia import crypto
from asistencia.appkeys import CONFIG
from asistencia.demo import DEMO_USERS
from asistencia.store import session_keys
from asistencia.tokens import mint_token
from asistencia.valkey import VALKEY
from asistencia.ws import endpoint
from tests.browser.class_feed import ProjectorFeed
from tests.browser.harness import LiveCamera, add_virtual_authenticator, save_screenshot
from tests.browser.test_device_page import as_student

pytestmark = pytest.mark.browser

PROFESSOR = next(user for user in DEMO_USERS if user.role == "profesor")
STUDENTS = [user for user in DEMO_USERS if user.role == "alumno"][:3]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1920, "height": 1080}}
CAMERA_SIZE = (640, 360)
# A phone already aimed at the screen: the codes reach its camera this late.
AIM_DELAY = 0.3
# Short enough to expire several times during the class; the server allows no leeway.
TOKEN_TTL = 3
# Quick classes: a 1 s countdown, a code every 250 ms, each student's code back on screen every
# second, with a new text each time (the response time runs from the showing the phone answered).
FAST = {"qr_tick_ms": 250, "countdown_seconds": 1, "qr_min_pool": 4, "jwt_leeway_seconds": 0}
LEGACY_LAUNCH = ("/asistencia/sessions?as=profesor&ttl={ttl}&course_code=INF-239"
                 "&course_name=Bases%20de%20Datos%20y%20Sistemas%20de%20Informaci%C3%B3n%20Avanzados"
                 "&semester=2026-2&block=3-4&room=A-201")
COURSE = "Bases de Datos y Sistemas de Información Avanzados"


FIELD_LABELS = {
    "course_code": "^Sigla del curso", "course_name": "^Nombre del curso", "semester": "^Semestre",
    "block": "^Bloque", "room": "^Sala", "rounds": "^Rondas", "duration_minutes": "^Duración",
}


def token_fetches(page: Page) -> list[float]:
    """When the page fetched a token (each a fresh one: a token expired or was about to)."""
    fetched: list[float] = []
    page.on("response", lambda response: fetched.append(time.monotonic())
            if urlsplit(response.url).path == "/api/dev/token" else None)
    return fetched


def sockets_opened(page: Page) -> list[str]:
    opened: list[str] = []
    page.on("websocket", lambda ws: opened.append(ws.url))
    return opened


async def eventually(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def open_session(open_page, server, request, *, rounds: int) -> tuple[Page, int, str]:
    """The professor's sessions page as the legacy app opens it; a new session; its projector."""
    page = await open_page(server, LEGACY_LAUNCH.format(ttl=TOKEN_TTL), **DESKTOP)
    await expect(page.locator("#new-session-prefilled")).to_be_visible()
    for field, value in {"course_code": "INF-239", "course_name": COURSE, "semester": "2026-2", "block": "3-4",
                         "room": "A-201", "rounds": "3", "duration_minutes": "15"}.items():
        await expect(page.get_by_label(re.compile(FIELD_LABELS[field]))).to_have_value(value)
    await page.get_by_label("Rondas").fill(str(rounds))
    await page.get_by_role("button", name="Abrir sesión").click()
    item = page.locator("#session-list li").first
    await expect(item).to_contain_text(f"{COURSE} (INF-239)")
    await expect(item).to_contain_text("Activa hasta las")
    await expect(page.get_by_role("status")).to_contain_text("Sesión abierta. Código para los estudiantes:")
    join_code = await item.locator(".code").inner_text()
    session_id = int(await item.get_attribute("data-session-id"))
    await save_screenshot(page, request.node.name, "sessions")
    # The projector opens in a tab of its own; the sessions page stays.
    async with page.context.expect_page() as opened:
        await item.get_by_role("link", name=f"Proyectar {COURSE} (INF-239)").click()
    projector = await opened.value
    await expect(projector).to_have_url(re.compile(rf"/asistencia/sessions/{session_id}/projector$"))
    # A tab opened without an opener starts without this tab's dev identity: the same one, short tokens.
    await projector.goto(f"/asistencia/sessions/{session_id}/projector?as=profesor&ttl={TOKEN_TTL}")
    await expect(page).to_have_url(re.compile(r"/asistencia/sessions\?"))
    await expect(page.get_by_label("Sigla del curso")).to_have_value("")
    return projector, session_id, join_code


async def enrolled_phone(open_page, server, browser, student, *, ttl: int | None = None) -> Page:
    """A student's phone (its own context and passkey) enrolled on the device page."""
    page = await open_page(server, None, on=browser, permissions=["camera"], **PHONE)
    await add_virtual_authenticator(page)
    await page.goto(f"/asistencia/device?as=alumno&user_id={student.id}" + (f"&ttl={ttl}" if ttl else ""))
    await page.get_by_role("button", name="Inscribir este teléfono").click()
    await expect(page.locator("#access-title")).to_have_text("Inicia la sesión del día")
    return page


async def join_by_link(page: Page, join_code: str, rounds: int, *, camera: bool = True) -> None:
    """Open the join QR's link, log the phone in on the spot, join: the camera starts (if there is one)."""
    await page.goto(f"/asistencia/scan?code={join_code}")
    await expect(page.locator("#step-title")).to_have_text("Confirma que eres tú")
    await page.get_by_role("button", name="Confirmar con huella, rostro o PIN").click()
    await expect(page.locator("#scanner")).to_be_visible()
    await expect(page.locator("#rounds-label")).to_have_text(f"Rondas listas: 0 de {rounds}")
    if camera:
        await expect(page.locator("#camera")).to_be_visible()
    else:
        await expect(page.locator("#scan-warning")).to_have_text(
            "No encontramos una cámara en este dispositivo. Usa tu teléfono para marcar asistencia.")
        await expect(page.get_by_role("button", name="Activar la cámara")).to_be_visible()


def roster_row(dashboard: Page, name: str):
    return dashboard.locator("#roster-rows tr").filter(has_text=name)


async def test_a_class_scans_every_round_through_the_projected_codes(
        serve, dev_config, open_page, camera_browser, request, tmp_path):
    server = await serve(dev_config.replace(**FAST))
    rounds = 3
    projector, session_id, join_code = await open_session(open_page, server, request, rounds=rounds)
    projector_tokens = token_fetches(projector)
    projector_sockets = sockets_opened(projector)
    await expect(projector.locator("#course-name")).to_have_text(COURSE)
    await expect(projector.locator("#join-code")).to_have_text(join_code)
    await expect(projector.locator("#join-url")).to_have_text(f"{server.url}/asistencia/scan?code={join_code}")
    await expect(projector.locator("#qr-frame")).to_be_visible()

    dashboard = await open_page(server, f"/asistencia/sessions/{session_id}/dashboard?as=profesor&ttl={TOKEN_TTL}",
                                **DESKTOP)
    dashboard_sockets = sockets_opened(dashboard)
    await expect(dashboard.locator("#roster-empty")).to_have_text(
        f"Aún no entra nadie. Los estudiantes entran con el código {join_code}.")

    camera = LiveCamera(tmp_path / "projector.y4m", *CAMERA_SIZE)
    phones_browser = await camera_browser(camera)
    feed = ProjectorFeed(projector, camera, delay=AIM_DELAY)
    async with feed.running():
        # The first student's tokens live TOKEN_TTL seconds too.
        phones = await asyncio.gather(*(
            enrolled_phone(open_page, server, phones_browser, student, ttl=TOKEN_TTL if index == 0 else None)
            for index, student in enumerate(STUDENTS)))
        phone_tokens = token_fetches(phones[0])
        phone_sockets = sockets_opened(phones[0])
        await asyncio.gather(*(join_by_link(phone, join_code, rounds) for phone in phones))
        await expect(dashboard.locator("#roster-rows tr")).to_have_count(3)
        # Each newcomer's row goes in its place in name order, whatever order they joined in.
        await expect(dashboard.locator("#roster-rows tr td.student strong")).to_have_text(
            sorted(student.full_name for student in STUDENTS))
        await expect(dashboard.locator("[data-counter=joined] dd")).to_have_text("3")
        await expect(projector.locator("[data-counter=joined] dd")).to_have_text("3")
        await expect(projector.locator("[data-counter=in_progress] dd")).to_have_text("3")

        # Every token the pages hold has expired; then the server drops every socket (a restart).
        await asyncio.sleep(TOKEN_TTL + 0.5)
        dropped_at = time.monotonic()
        sockets = {id(opened): len(opened) for opened in (projector_sockets, dashboard_sockets, phone_sockets)}
        await endpoint.close_all(server.app)
        for opened in (projector_sockets, dashboard_sockets, phone_sockets):
            await eventually(lambda opened=opened: len(opened) > sockets[id(opened)])
        await expect(projector.locator("#qr-frame")).to_be_visible()

        feed.on = True
        await asyncio.sleep(AIM_DELAY + 0.5)
        await save_screenshot(phones[0], request.node.name, "scanner-scanning")
        for phone in phones:
            await expect(phone.locator("#outcome")).to_be_visible(timeout=30_000)
            await expect(phone.locator("#outcome-title")).to_have_text("¡Asistencia registrada!")
            await expect(phone.locator("#outcome-status")).to_have_text("Tu estado: Presente")
            await expect(phone.locator("#rounds-label")).to_have_text(f"Rondas listas: {rounds} de {rounds}")
            await expect(phone.locator("#scan-warning")).to_be_hidden()
            await expect(phone.locator("#page-error")).to_be_hidden()
            # Done: the camera is off.
            assert await phone.evaluate("document.getElementById('camera').srcObject") is None
        await save_screenshot(phones[0], request.node.name, "scanner-done")

    for student in STUDENTS:
        row = roster_row(dashboard, student.full_name)
        await expect(row).to_have_attribute("data-standing", "PRESENT")
        await expect(row).to_contain_text(f"{rounds} de {rounds}")
    await expect(dashboard.locator("[data-counter=present] dd")).to_have_text("3")
    await expect(dashboard.locator("[data-counter=in_progress] dd")).to_have_text("0")
    await expect(projector.locator("[data-counter=present] dd")).to_have_text("3")
    await expect(dashboard.locator("#page-error")).to_be_hidden()
    await save_screenshot(dashboard, request.node.name, "dashboard")
    await save_screenshot(projector, request.node.name, "projector")
    await dashboard.set_viewport_size(PHONE["viewport"])
    assert await dashboard.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    await save_screenshot(dashboard, request.node.name, "dashboard-phone")
    await dashboard.set_viewport_size(DESKTOP["viewport"])
    # The pages renewed their expired tokens on their own, before using them (a 401 would fail the test).
    assert [fetched for fetched in projector_tokens if fetched > dropped_at]
    assert [fetched for fetched in phone_tokens if fetched > dropped_at]

    await dashboard.get_by_role("button", name="Cerrar sesión de clase").click()
    dialog = dashboard.get_by_role("dialog", name="¿Cerrar esta sesión de clase?")
    await expect(dialog).to_contain_text(f"{COURSE} · código {join_code}")
    await dialog.get_by_role("button", name="Cerrar sesión").click()
    await expect(dashboard.locator("[data-fact=state] dd")).to_have_text("Cerrada")
    await expect(dashboard.get_by_role("button", name="Cerrar sesión de clase")).to_be_hidden()
    await expect(projector.locator("#stage-message")).to_have_text("La sesión terminó")
    await expect(projector.locator("#connection")).to_have_text(
        "Sesión cerrada. Revisa la asistencia en el panel o en los resultados.")
    await save_screenshot(projector, request.node.name, "projector-closed")


async def send_what_no_honest_phone_sends(server, student, session_id: int, times: int) -> None:
    """Scans whose proofs open under the phone's own session key but are not proofs: each costs an attempt."""
    key = await session_keys.load(server.app[VALKEY], server.app[CONFIG].session_key_ring, student.id)
    token = mint_token(server.config, user_id=student.id, username=student.username, role="alumno")
    async with aiohttp.ClientSession(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(times):
            sealed = crypto.seal(key.key, b'{"totp": "123456"}',
                                 crypto.associated_data(crypto.PROOF, session_id, student.id, 1))
            body = {"session": session_id, "qr": "0" * 75, "proof": crypto.b64url_encode(sealed)}
            async with http.post("/api/attendance/scan", json=body) as response:
                assert (response.status, (await response.json())["error"]["code"]) == (400, "PROOF_MALFORMED")


async def test_a_phone_with_a_wrong_clock_scans_and_a_failed_student_finishes_after_a_reset(
        serve, dev_config, open_page, camera_browser, request, tmp_path):
    # Four codes a frame, drawn as a 2×2 grid; each code back on screen every 1.5 s.
    server = await serve(dev_config.replace(**{**FAST, "qr_per_frame": 4, "qr_min_pool": 24}))
    projector, session_id, join_code = await open_session(open_page, server, request, rounds=2)
    await expect(projector.locator("#qr-frame")).to_be_visible()
    dashboard = await open_page(server, f"/asistencia/sessions/{session_id}/dashboard?as=profesor", **DESKTOP)
    camera = LiveCamera(tmp_path / "projector.y4m", *CAMERA_SIZE)
    feed = ProjectorFeed(projector, camera, delay=AIM_DELAY)
    async with feed.running():
        student = STUDENTS[0]
        phone = await enrolled_phone(open_page, server, await camera_browser(camera), student)
        # The phone's clock runs two minutes late: protocol v2 never looks at it (docs/protocol.md §3).
        await phone.clock.set_system_time(time.time() - 120)
        await join_by_link(phone, join_code, rounds=2)
        # Before it sees its code, its attempts are used up by what only its key can seal.
        await send_what_no_honest_phone_sends(server, student, session_id, times=3)
        await join_by_link_failed(phone, join_code)
        await save_screenshot(phone, request.node.name, "scanner-failed")

        row = roster_row(dashboard, student.full_name)
        await expect(row).to_have_attribute("data-standing", "FAILED")
        await expect(row.locator("td").nth(4)).to_have_text("3")
        await expect(dashboard.locator("[data-counter=failed] dd")).to_have_text("1")
        await expect(dashboard.locator("#fraud-total")).to_have_text("Intentos rechazados en esta sesión: 3.")
        await save_screenshot(dashboard, request.node.name, "dashboard-failed")

        # The professor gives new attempts; the phone, clock still wrong, finishes.
        feed.on = True
        await save_screenshot(projector, request.node.name, "projector-grid")
        await row.get_by_role("button", name=f"Dar nuevos intentos a {student.full_name}").click()
        await expect(dashboard.get_by_role("status")).to_contain_text(f"{student.full_name} puede volver a escanear.")
        await expect(phone.get_by_role("status").filter(has_text="Tu profesor/a te habilitó de nuevo")).to_be_visible()
        await expect(phone.locator("#outcome")).to_be_visible(timeout=30_000)
        await expect(phone.locator("#outcome-title")).to_have_text("¡Asistencia registrada!")
        await expect(phone.locator("#outcome-status")).to_contain_text("Tu estado:")
    await expect(row).to_have_attribute("data-standing", re.compile("PRESENT|DOUBTFUL"))
    await expect(row).to_contain_text("2 de 2")
    await expect(dashboard.locator("[data-counter=failed] dd")).to_have_text("0")
    await expect(dashboard.locator("#fraud-total")).to_have_text("Intentos rechazados en esta sesión: 3.")


async def join_by_link_failed(page: Page, join_code: str) -> None:
    """Open the join link again (the day's device login kept on the phone: no prompt): the page says the
    attempts are used up."""
    await page.goto(f"/asistencia/scan?code={join_code}")
    await expect(page.locator("#scan-status")).to_have_text(
        "Se acabaron tus intentos en esta ronda. Pide a tu profesor/a que te habilite de nuevo; "
        "esta página seguirá sola cuando lo haga.")
    await expect(page.locator("#camera")).to_be_hidden()


async def test_a_student_on_a_revoked_phone_is_told_to_enroll_again(
        serve, dev_config, open_page, request, problems):
    server = await serve(dev_config.replace(**FAST))
    professor = mint_token(server.config, user_id=PROFESSOR.id, username=PROFESSOR.username, role="profesor")
    async with aiohttp.ClientSession(base_url=server.url, headers={"Authorization": f"Bearer {professor}"}) as http:
        async with http.post("/api/sessions", json={"course_code": "INF-239", "course_name": "Bases de Datos"}) as r:
            join_code = (await r.json())["join_code"]
    phone = await open_page(server, None, **PHONE)
    await add_virtual_authenticator(phone)
    await phone.goto("/asistencia/device?as=alumno")
    await phone.get_by_role("button", name="Inscribir este teléfono").click()
    await expect(phone.locator("#access-title")).to_have_text("Inicia la sesión del día")
    await join_by_link(phone, join_code, rounds=3, camera=False)

    # Revoked from another tab while the scanner is open; the next thing the page does (here: join
    # again after the server dropped its socket) finds no key, and logging in again is refused.
    [device] = (await as_student(server, "GET", "/api/enrollment/devices"))["devices"]
    await as_student(server, "DELETE", f"/api/enrollment/devices/{device['id']}")
    await endpoint.close_all(server.app)
    await expect(phone.locator("#step-title")).to_have_text("Confirma que eres tú")
    await expect(phone.locator("#step-error")).to_have_text(
        "Este teléfono no tiene la sesión del día iniciada. Confirma con tu huella, rostro o PIN para seguir.")
    problems.allow(r"status of 422 .*/api/login/options\)$")
    await phone.get_by_role("button", name="Confirmar con huella, rostro o PIN").click()
    await expect(phone.locator("#step-title")).to_have_text("Este teléfono fue dado de baja")
    await expect(phone.locator("#step-text")).to_contain_text("(lo diste de baja tú). Inscríbelo de nuevo")
    await expect(phone.get_by_role("button", name="Inscribir este teléfono")).to_be_visible()
    await expect(phone.get_by_role("button", name="Confirmar con huella, rostro o PIN")).to_be_hidden()
    await save_screenshot(phone, request.node.name, "scanner-revoked")

    # Opening the join link again says the same from the start.
    await phone.goto(f"/asistencia/scan?code={join_code}")
    await expect(phone.locator("#step-title")).to_have_text("Este teléfono fue dado de baja")
