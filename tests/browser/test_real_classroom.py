"""Issue 11, the student's half, in Chromium: screens that never show a dead code, a phone
that says it is offline and keeps its device login across a reload, one path from the join
link to scanning for a first-time student (prompts and taps counted), the scanner's
feedback and zoom, and a phone without passkeys sent to the professor.

"Offline" is Playwright's: the context's network goes away without closing anything (an
open socket simply stops carrying frames, as when a projector's Wi-Fi drops), so only the
pages' own heartbeat can notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

import aiohttp
import pytest
from playwright.async_api import Page, expect

from asistencia.demo import DEMO_USERS
from asistencia.tokens import mint_token
from tests.browser.class_feed import ProjectorFeed
from tests.browser.harness import LiveCamera, add_virtual_authenticator, save_screenshot
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_class_pages import AIM_DELAY, CAMERA_SIZE, DESKTOP, FAST, PHONE

pytestmark = pytest.mark.browser

PROFESSOR = next(user for user in DEMO_USERS if user.role == "profesor")
STUDENTS = [user for user in DEMO_USERS if user.role == "alumno"]
# What Chromium logs while a context is offline: expected here, nothing else is.
OFFLINE_NOISE = r"ERR_INTERNET_DISCONNECTED"


@contextlib.asynccontextmanager
async def api_as(server, user):
    """An HTTP client of the server's API with `user`'s token (as the legacy bridge mints it)."""
    token = mint_token(server.config, user_id=user.id, username=user.username, role=user.role)
    async with aiohttp.ClientSession(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        yield http


async def new_session(server, *, rounds: int) -> tuple[int, str]:
    async with api_as(server, PROFESSOR) as http:
        async with http.post("/api/sessions", json={"course_code": "INF-239", "course_name": "Bases de Datos",
                                                    "rounds": rounds}) as response:
            assert response.status == 201, await response.text()
            created = await response.json()
    return created["id"], created["join_code"]


async def end_device_login(server, student) -> None:
    """The day's device login is over (as the next class day finds it): the server holds no key."""
    async with api_as(server, student) as http:
        async with http.delete("/api/login") as response:
            assert response.status in (200, 204), await response.text()


async def open_projector(open_page, server, session_id: int) -> Page:
    projector = await open_page(server, f"/asistencia/sessions/{session_id}/projector?as=profesor"
                                        f"&user_id={PROFESSOR.id}", bypass_csp=True, **DESKTOP)
    await expect(projector.locator("#qr-frame")).to_be_visible()
    return projector


async def student_phone(open_page, server, browser, student, **context) -> Page:
    """A phone (its own context and passkey store) whose dev identity is `student`; no page opened yet."""
    # The CSP is bypassed only so that axe-core can be injected (test_accessibility.py).
    phone = await open_page(server, None, on=browser, permissions=["camera"], bypass_csp=True, **PHONE, **context)
    await add_virtual_authenticator(phone)
    # The identity this phone's tabs use (dev mode keeps it per tab; a reload keeps it).
    await phone.goto(f"/asistencia/?as=alumno&user_id={student.id}")
    return phone


def record_student(page: Page) -> dict[str, list[str]]:
    """What the student does and is asked, as the page reports it (RECORDER): every tap, by
    what was tapped, and every passkey prompt (a WebAuthn create or get), by kind."""
    seen: dict[str, list[str]] = {"tap": [], "prompt": []}

    def console(message) -> None:
        kind, _, what = message.text.partition(": ")
        if kind in seen:
            seen[kind].append(what)

    page.on("console", console)
    return seen


RECORDER = """(() => {
    document.addEventListener("click", (event) => {
        const target = event.target.closest("button, a, input");
        console.log("tap: " + (target ? (target.id || target.textContent.trim()) : event.target.tagName));
    }, true);
    for (const kind of ["create", "get"]) {
        const ceremony = navigator.credentials[kind].bind(navigator.credentials);
        navigator.credentials[kind] = (options) => {
            console.log("prompt: " + kind);
            return ceremony(options);
        };
    }
})()"""


async def test_a_projector_that_loses_its_network_hides_the_code_until_frames_flow_again(
        serve, dev_config, open_page, problems, request):
    server = await serve(dev_config.replace(**FAST))
    session_id, _ = await new_session(server, rounds=3)
    projector = await open_projector(open_page, server, session_id)
    problems.allow(OFFLINE_NOISE)

    await projector.context.set_offline(True)
    offline_at = time.monotonic()
    # The socket stays "open" in the browser; only the missing frames and pongs tell.
    await expect(projector.locator("#stage-message")).to_have_text("Reconectando…", timeout=5000)
    await expect(projector.locator("#qr-frame")).to_be_hidden()
    await expect(projector.locator("#stage-message")).to_have_class("stage-message stage-offline")
    await expect(projector.locator("#connection")).to_have_text("Se perdió la conexión. Reconectando…")
    await save_screenshot(projector, request.node.name, "projector-offline")
    assert await serious_violations(projector) == []
    await asyncio.sleep(max(0.0, 10 - (time.monotonic() - offline_at)))
    # Still no code after 10 s offline, then the network comes back: codes again within 3 s.
    await expect(projector.locator("#qr-frame")).to_be_hidden()
    await projector.context.set_offline(False)
    await expect(projector.locator("#qr-frame")).to_be_visible(timeout=3000)
    await expect(projector.locator("#stage-message")).to_be_hidden()
    await expect(projector.locator("#connection")).to_have_text("")


@dataclasses.dataclass(frozen=True)
class ScanningPhone:
    page: Page
    feed: ProjectorFeed
    join_code: str
    seen: dict[str, list[str]]  # record_student's taps and prompts


@contextlib.asynccontextmanager
async def phone_past_round_one(server, open_page, camera_browser, tmp_path, student, *, rounds: int):
    """A projector, and a first-time phone aimed at it (its camera fed from the projector's canvas)
    that came by the join link, enrolled (two prompts) and passed round 1; the feed running, off."""
    session_id, join_code = await new_session(server, rounds=rounds)
    projector = await open_projector(open_page, server, session_id)
    camera = LiveCamera(tmp_path / "projector.y4m", *CAMERA_SIZE)
    phone = await student_phone(open_page, server, await camera_browser(camera), student)
    await phone.add_init_script(RECORDER)
    seen = record_student(phone)
    feed = ProjectorFeed(projector, camera, delay=AIM_DELAY)
    async with feed.running():
        await phone.goto(f"/asistencia/scan?code={join_code}")
        await phone.get_by_role("button", name="Inscribir este teléfono").click()
        await expect(phone.locator("#camera")).to_be_visible()
        feed.on = True
        # Looked at every frame, not polled: the next round's code must not be answered before the feed stops.
        await phone.wait_for_function("() => document.getElementById('rounds').value >= 1", polling="raf",
                                      timeout=20_000)
        feed.on = False
        await expect(phone.locator("#rounds-label")).to_have_text(f"Rondas listas: 1 de {rounds}")
        assert seen["prompt"] == ["create", "get"]
        yield ScanningPhone(phone, feed, join_code, seen)


async def goes_offline(phone: ScanningPhone, problems) -> None:
    """The phone's network goes without closing anything: the scanner says so within 5 s."""
    problems.allow(OFFLINE_NOISE)
    problems.allow(r"Failed to fetch|NetworkError")
    await phone.page.context.set_offline(True)
    await expect(phone.page.locator("#scan-warning")).to_have_text(
        "Sin conexión con el servidor. Reintentando… Lo que ya marcaste no se pierde.", timeout=5000)


async def test_a_phone_offline_says_so_completes_after_reconnecting_and_a_reload_keeps_its_login(
        serve, dev_config, open_page, camera_browser, problems, request, tmp_path):
    server = await serve(dev_config.replace(**FAST))
    rounds = 2
    async with phone_past_round_one(server, open_page, camera_browser, tmp_path, STUDENTS[0],
                                    rounds=rounds) as scanning:
        phone, feed = scanning.page, scanning.feed
        await goes_offline(scanning, problems)
        await save_screenshot(phone, request.node.name, "phone-offline")
        assert await serious_violations(phone) == []
        feed.on = True  # codes seen while offline cannot be answered: the round waits
        await asyncio.sleep(2)
        await expect(phone.locator("#rounds-label")).to_have_text(f"Rondas listas: 1 de {rounds}")
        await phone.context.set_offline(False)
        await expect(phone.locator("#outcome")).to_be_visible(timeout=20_000)
        await expect(phone.locator("#outcome-title")).to_have_text("¡Asistencia registrada!")
        await expect(phone.locator("#scan-warning")).to_be_hidden()
        assert scanning.seen["prompt"] == ["create", "get"]

        # A reload finds the day's login kept on the phone: no prompt, straight back to the outcome.
        await phone.reload()
        await expect(phone.locator("#outcome")).to_be_visible()
        await expect(phone.locator("#outcome-title")).to_have_text("¡Asistencia registrada!")
        await expect(phone.locator("#outcome-status")).to_contain_text("Tu estado:")
        assert scanning.seen["prompt"] == ["create", "get"], "no prompt after the reload"
        await save_screenshot(phone, request.node.name, "phone-reloaded-done")


async def test_a_phone_reloaded_while_offline_keeps_its_login_and_completes_once_back(
        serve, dev_config, open_page, camera_browser, problems, request, tmp_path):
    server = await serve(dev_config.replace(**FAST))
    rounds = 2
    async with phone_past_round_one(server, open_page, camera_browser, tmp_path, STUDENTS[0],
                                    rounds=rounds) as scanning:
        phone, feed = scanning.page, scanning.feed
        # The service worker has its shell in store before the network goes.
        await phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        await goes_offline(scanning, problems)

        # Reloaded with no network: the service worker's offline page, at the link's own URL.
        await phone.reload()
        await expect(phone.get_by_role("heading", level=1)).to_have_text("Sin conexión")
        await expect(phone.locator("#offline-login")).to_contain_text(
            "Tu sesión del día sigue guardada en este teléfono hasta las")
        await expect(phone.locator("#offline-resumes")).to_have_text(
            "Esta página sigue sola cuando vuelva la conexión.")
        await expect(phone.get_by_role("link", name="Reintentar")).to_have_attribute(
            "href", f"/asistencia/scan?code={scanning.join_code}")
        await save_screenshot(phone, request.node.name, "phone-reloaded-offline")
        assert await serious_violations(phone) == []

        # The network returns: the page goes back to the scanner by itself, which finds the kept login.
        feed.on = True
        await phone.context.set_offline(False)
        await expect(phone.locator("#outcome")).to_be_visible(timeout=20_000)
        await expect(phone.locator("#outcome-title")).to_have_text("¡Asistencia registrada!")
        await expect(phone.locator("#rounds-label")).to_have_text(f"Rondas listas: {rounds} de {rounds}")
    assert scanning.seen["prompt"] == ["create", "get"], "no passkey prompt after the offline reload"
    assert scanning.seen["tap"] == ["enroll"], "nothing to tap to come back"


async def test_a_first_time_student_goes_from_the_join_link_to_present_with_one_tap_and_two_prompts(
        serve, dev_config, open_page, camera_browser, request, tmp_path):
    server = await serve(dev_config.replace(**FAST))
    rounds = 2
    session_id, join_code = await new_session(server, rounds=rounds)
    projector = await open_projector(open_page, server, session_id)
    camera = LiveCamera(tmp_path / "projector.y4m", *CAMERA_SIZE)
    phone = await student_phone(open_page, server, await camera_browser(camera), STUDENTS[1])
    await phone.add_init_script(RECORDER)
    student = record_student(phone)
    feed = ProjectorFeed(projector, camera, delay=AIM_DELAY)
    async with feed.running():
        await phone.goto(f"/asistencia/scan?code={join_code}")
        await expect(phone.locator("#step-title")).to_have_text("Inscribe este teléfono")
        await save_screenshot(phone, request.node.name, "first-time-enroll")
        assert await serious_violations(phone) == []
        await phone.get_by_role("button", name="Inscribir este teléfono").click()
        await expect(phone.locator("#camera")).to_be_visible()
        await expect(phone.locator("#class-title")).to_have_text("Bases de Datos")
        # Between rounds the student sees that the camera reads codes, and when theirs was shown.
        await expect(phone.locator("#scan-seen")).to_have_text("Buscando códigos… apunta a la pantalla (leídos: 0)")
        await save_screenshot(phone, request.node.name, "scanner-no-codes")
        feed.on = True
        await expect(phone.locator("#scan-seen")).to_contain_text("Viendo códigos…")
        await expect(phone.locator("#scan-seen")).to_contain_text("tu código apareció hace")
        await save_screenshot(phone, request.node.name, "scanner-seeing-codes")
        assert await serious_violations(phone) == []
        await expect(phone.locator("#outcome")).to_be_visible(timeout=20_000)
        await expect(phone.locator("#outcome-title")).to_have_text("¡Asistencia registrada!")
        await expect(phone.locator("#rounds-label")).to_have_text(f"Rondas listas: {rounds} de {rounds}")
    assert student["tap"] == ["enroll"], "one tap from the join link to the scanner"
    assert student["prompt"] == ["create", "get"], "one prompt to enroll, one for the day's login"
    assert await phone.locator("#join-code").input_value() == join_code, "the code came with the link"
    await expect(phone.locator("#join-form")).to_be_hidden()

    # The next class day: the day's login is over; the link, one tap, one prompt, scanning.
    await end_device_login(server, STUDENTS[1])
    next_id, next_code = await new_session(server, rounds=rounds)
    student["tap"].clear()
    student["prompt"].clear()
    await phone.goto(f"/asistencia/scan?code={next_code}")
    await expect(phone.locator("#step-title")).to_have_text("Confirma que eres tú")
    await phone.get_by_role("button", name="Confirmar con huella, rostro o PIN").click()
    await expect(phone.locator("#camera")).to_be_visible()
    assert student["tap"] == ["login"]
    assert student["prompt"] == ["get"]
    assert next_id != session_id


async def test_a_closed_or_cancelled_class_link_says_so_before_any_passkey_prompt(open_page, server, browser,
                                                                                 problems, request):
    problems.allow(r"status of 404 .*/api/attendance/session\?code=ZZZZZZ")
    closed_id, closed_code = await new_session(server, rounds=2)
    cancelled_id, cancelled_code = await new_session(server, rounds=2)
    _, open_code = await new_session(server, rounds=2)
    async with api_as(server, PROFESSOR) as http:
        async with http.post(f"/api/sessions/{closed_id}/close") as response:
            assert response.status == 200, await response.text()
        async with http.post(f"/api/sessions/{cancelled_id}/cancel", json={"reason": "Abierta por error"}) as response:
            assert response.status == 200, await response.text()
    # An enrolled phone without the day's login: an open class's link asks for the fingerprint first.
    phone = await student_phone(open_page, server, browser, STUDENTS[0])
    await phone.add_init_script(RECORDER)
    student = record_student(phone)
    await phone.goto("/asistencia/device")
    await phone.locator("#enroll").click()
    await expect(phone.locator("#access")).to_have_attribute("data-state", "ENROLLED_NO_SESSION")
    await phone.goto(f"/asistencia/scan?code={open_code}")
    await expect(phone.locator("#step-title")).to_have_text("Confirma que eres tú")
    student["prompt"].clear()

    await phone.goto(f"/asistencia/scan?code={closed_code}")
    await expect(phone.locator("#outcome-title")).to_have_text("La sesión de clase terminó")
    await expect(phone.locator("#outcome-status")).to_have_text("Bases de Datos · INF-239")
    await expect(phone.locator("#outcome-text")).to_contain_text("Ya no se puede marcar asistencia")
    await expect(phone.locator("#step")).to_be_hidden()
    await save_screenshot(phone, request.node.name, "closed-class-link")
    assert await serious_violations(phone) == []

    await phone.goto(f"/asistencia/scan?code={cancelled_code}")
    await expect(phone.locator("#outcome-title")).to_have_text("La sesión de clase fue cancelada")
    await expect(phone.locator("#step")).to_be_hidden()
    await save_screenshot(phone, request.node.name, "cancelled-class-link")
    assert await serious_violations(phone) == []

    # A code no class has: said beside the field, to type the right one; that one goes on to the login.
    await phone.goto("/asistencia/scan?code=ZZZZZZ")
    await expect(phone.locator("#join-error")).to_have_text(
        "No hay ninguna clase abierta con ese código. Revisa las 6 letras que muestra la pantalla de la sala.")
    await expect(phone.locator("#join-code")).to_have_attribute("aria-invalid", "true")
    await expect(phone.locator("#step")).to_be_hidden()
    await save_screenshot(phone, request.node.name, "unknown-class-link")
    assert await serious_violations(phone) == []
    assert student["prompt"] == [], "no passkey prompt for a class that cannot be joined"
    await phone.locator("#join-code").fill(open_code)
    await phone.get_by_role("button", name="Entrar").click()
    await expect(phone.locator("#step-title")).to_have_text("Confirma que eres tú")
    assert student["prompt"] == []


ZOOMABLE_CAMERA = """(() => {
    const capabilities = MediaStreamTrack.prototype.getCapabilities;
    MediaStreamTrack.prototype.getCapabilities = function () {
        return { ...capabilities.call(this), zoom: { min: 1, max: 5, step: 0.5 } };
    };
    window.zoomApplied = [];
    const apply = MediaStreamTrack.prototype.applyConstraints;
    MediaStreamTrack.prototype.applyConstraints = function (constraints) {
        window.zoomApplied.push(constraints);
        return constraints.advanced ? Promise.resolve() : apply.call(this, constraints);
    };
})()"""


async def test_the_scanner_offers_zoom_where_the_camera_has_it(serve, dev_config, open_page, camera_browser,
                                                               request, tmp_path):
    server = await serve(dev_config.replace(**FAST))
    _, join_code = await new_session(server, rounds=2)
    camera = LiveCamera(tmp_path / "wall.y4m", *CAMERA_SIZE)
    phones = await camera_browser(camera)
    plain = await student_phone(open_page, server, phones, STUDENTS[2])
    await plain.goto(f"/asistencia/scan?code={join_code}")
    await plain.get_by_role("button", name="Inscribir este teléfono").click()
    await expect(plain.locator("#camera")).to_be_visible()
    # Chromium's fake camera has no zoom: no slider.
    await expect(plain.locator("#zoom-field")).to_be_hidden()

    zoomable = await student_phone(open_page, server, phones, STUDENTS[3])
    await zoomable.add_init_script(ZOOMABLE_CAMERA)
    await zoomable.goto(f"/asistencia/scan?code={join_code}")
    await zoomable.get_by_role("button", name="Inscribir este teléfono").click()
    slider = zoomable.get_by_label("Zoom de la cámara")
    await expect(slider).to_be_visible()
    await expect(slider).to_have_attribute("max", "5")
    await slider.fill("3")
    await zoomable.wait_for_function("() => window.zoomApplied.length > 0")
    assert await zoomable.evaluate("window.zoomApplied") == [{"advanced": [{"zoom": 3}]}]
    await save_screenshot(zoomable, request.node.name, "scanner-zoom")
    assert await serious_violations(zoomable) == []


async def test_a_phone_without_passkeys_is_sent_to_the_professor(open_page, server, request):
    _, join_code = await new_session(server, rounds=2)
    phone = await open_page(server, None, bypass_csp=True, **PHONE)
    await phone.add_init_script("delete window.PublicKeyCredential")
    await phone.goto(f"/asistencia/scan?as=alumno&code={join_code}")
    await expect(phone.locator("#step-title")).to_have_text("Este teléfono no puede usar llaves de acceso")
    await expect(phone.locator("#step-text")).to_contain_text("Pide a tu profesor que te marque")
    await expect(phone.locator("#step button:visible, #step a.button:visible")).to_have_count(0)
    await save_screenshot(phone, request.node.name, "scanner-no-passkey")
    assert await serious_violations(phone) == []


async def test_a_student_without_a_camera_is_flagged_on_the_dashboard(open_page, server, browser, problems, request):
    session_id, join_code = await new_session(server, rounds=2)
    dashboard = await open_page(server, f"/asistencia/sessions/{session_id}/dashboard?as=profesor"
                                        f"&user_id={PROFESSOR.id}", bypass_csp=True, **DESKTOP)
    # A Chromium without a fake camera: getUserMedia finds no device.
    phone = await student_phone(open_page, server, browser, STUDENTS[4])
    problems.allow(r"Requested device not found")
    await phone.goto(f"/asistencia/scan?code={join_code}")
    await phone.get_by_role("button", name="Inscribir este teléfono").click()
    await expect(phone.locator("#scan-warning")).to_have_text(
        "No encontramos una cámara en este dispositivo. Usa tu teléfono para marcar asistencia.")
    row = dashboard.locator("#roster-rows tr").filter(has_text=STUDENTS[4].full_name)
    await expect(row.locator("[data-flag=no_camera]")).to_have_text("Sin cámara: no puede escanear")
    await save_screenshot(dashboard, request.node.name, "dashboard-no-camera")
    assert await serious_violations(dashboard) == []
    # Opened later, the dashboard knows it from its snapshot.
    await dashboard.reload()
    await expect(row.locator("[data-flag=no_camera]")).to_be_visible()


MEASURE_PROJECTOR = """() => {
    const box = (id) => document.getElementById(id).getBoundingClientRect();
    const side = document.querySelector(".projector-side");
    return { joinQr: box("join-qr").width, codes: box("qr-frame").width, counters: box("counters").bottom,
             sideScrolls: side.scrollHeight > side.clientHeight + 1, viewport: innerHeight };
}"""


async def test_the_join_qr_is_readable_from_the_back_rows_of_a_1080p_projector(serve, dev_config, open_page,
                                                                               request):
    """The join QR beside the full-height rotating code: twice the 164 px it had on a 1080p projector,
    with the rotating code as large as before and the whole side panel (counters included) on screen."""
    server = await serve(dev_config.replace(**FAST))
    session_id, _ = await new_session(server, rounds=2)
    projector = await open_projector(open_page, server, session_id)
    sizes = await projector.evaluate(MEASURE_PROJECTOR)
    assert sizes["joinQr"] >= 300, sizes
    assert sizes["codes"] >= 900, sizes
    assert not sizes["sideScrolls"] and sizes["counters"] <= sizes["viewport"], sizes
    await save_screenshot(projector, request.node.name, "projector-join-qr")
    assert await serious_violations(projector) == []
