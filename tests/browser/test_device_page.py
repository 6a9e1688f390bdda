"""The student's device page (/asistencia/device) in Chromium with a virtual passkey:
enroll, log in for the day, revoke, and every refusal said in Spanish with what to do."""

from __future__ import annotations

import datetime
import os
import re
import zoneinfo

import aiohttp
import pytest
from playwright.async_api import expect

from asistencia import crypto
from asistencia.appkeys import CONFIG
from asistencia.demo import DEMO_USERS
from asistencia.store import session_keys
from asistencia.tokens import mint_token
from asistencia.valkey import VALKEY
from tests.browser.harness import add_virtual_authenticator, call_module, save_screenshot

pytestmark = pytest.mark.browser

STUDENT = next(user for user in DEMO_USERS if user.role == "alumno")
PROFESSOR = next(user for user in DEMO_USERS if user.role == "profesor")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1920, "height": 1080}}
DEVICE_PAGE = "/asistencia/device?as=alumno"


async def open_phone(open_page, server, **context):
    """A fresh phone (its own storage, so its own fingerprint) with a passkey-capable authenticator."""
    page = await open_page(server, None, **(context or PHONE))
    authenticator = await add_virtual_authenticator(page)
    await page.goto(DEVICE_PAGE)
    return page, authenticator


def access_title(page):
    return page.locator("#access-title")


async def enroll(page):
    await page.get_by_role("button", name="Inscribir este teléfono").click()
    await expect(access_title(page)).to_have_text("Inicia la sesión del día")


async def log_in(page):
    await page.get_by_role("button", name="Iniciar sesión del día").click()
    await expect(access_title(page)).to_have_text("Listo para marcar asistencia")


async def as_student(server, method: str, path: str):
    """An API call with the demo student's token from outside the page (another tab of theirs): its JSON."""
    token = mint_token(server.config, user_id=STUDENT.id, username=STUDENT.username, role="alumno")
    async with aiohttp.ClientSession() as http:
        async with http.request(method, server.url + path, headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200, await response.text()
            return await response.json()


SEAL_IN_PAGE = """async (login, message) => {
    const crypto = await import("/static/js/lib/crypto.js");
    const session = login.currentSession();
    const ad = crypto.associatedData(crypto.PROOF, 7, 8, 1);
    const sealed = await crypto.seal(session.sealKey, new TextEncoder().encode(message), ad);
    return { sealed: crypto.b64urlEncode(sealed), credentialId: session.credentialId, expiresAt: session.expiresAt };
}"""

OPEN_IN_PAGE = """async (login, sealed) => {
    const crypto = await import("/static/js/lib/crypto.js");
    const ad = crypto.associatedData(crypto.CODE, 7, 8, 1);
    const plain = await crypto.openSealed(login.currentSession().sealKey, crypto.b64urlDecode(sealed), ad);
    return new TextDecoder().decode(plain);
}"""


async def test_a_student_enrolls_logs_in_with_the_servers_key_and_revokes_the_phone(open_page, server, request):
    page, _ = await open_phone(open_page, server)
    await expect(access_title(page)).to_have_text("Inscribe este teléfono")
    await expect(page.locator("#whoami")).to_have_text(f"{STUDENT.full_name} · Estudiante")
    await expect(page.get_by_role("link", name="Mi teléfono")).to_be_visible()
    await save_screenshot(page, request.node.name, "phone-not-enrolled")

    await enroll(page)
    await expect(page.get_by_role("status").filter(has_text="Teléfono inscrito")).to_be_visible()
    mine = page.locator("#devices li")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("este teléfono")
    await expect(mine).to_contain_text("Inscrito")
    await expect(mine).to_contain_text("Aún sin sesiones del día")

    await log_in(page)
    stored = await session_keys.load(server.app[VALKEY], server.app[CONFIG].session_key_ring, STUDENT.id)
    ends = datetime.datetime.fromtimestamp(stored.expires_at, zoneinfo.ZoneInfo(server.config.timezone))
    await expect(page.locator("#access-text")).to_have_text(
        f"La sesión del día de este teléfono está activa hasta las {ends:%H:%M}.")
    await save_screenshot(page, request.node.name, "phone-ready")

    # The key the page derived is the one the server stored: each side opens what the other sealed.
    from_page = await call_module(page, "device_login.js", SEAL_IN_PAGE, "sellado en el teléfono · ñandú")
    assert crypto.open_sealed(stored.key, crypto.b64url_decode(from_page["sealed"]),
                              crypto.associated_data(crypto.PROOF, 7, 8, 1)) \
        == "sellado en el teléfono · ñandú".encode()
    assert (from_page["credentialId"], from_page["expiresAt"]) == (stored.credential_id, stored.expires_at)
    message = os.urandom(8).hex()
    from_server = crypto.b64url_encode(crypto.seal(stored.key, message.encode(), crypto.associated_data(crypto.CODE, 7, 8, 1)))
    assert await call_module(page, "device_login.js", OPEN_IN_PAGE, from_server) == message

    await expect(mine.locator("strong")).to_have_text(re.compile(r"^Teléfono inscrito el \d"))
    revoke = page.get_by_role("button", name="Dar de baja el teléfono inscrito el")
    dialog = page.get_by_role("dialog", name="¿Dar de baja este dispositivo?")
    # Pressed by mistake: Escape leaves the phone enrolled and logged in.
    await revoke.click()
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(revoke).to_be_enabled()
    assert await call_module(page, "device_login.js", "(login) => login.currentSession()") is not None

    await revoke.click()
    await dialog.get_by_role("button", name="Dar de baja").click()
    await expect(access_title(page)).to_have_text("Inscribe este teléfono de nuevo")
    await expect(page.locator("#access-text")).to_contain_text("lo diste de baja tú")
    await expect(page.get_by_role("button", name="Inscribir este teléfono")).to_be_visible()
    await expect(mine).to_contain_text("Dado de baja")
    assert await session_keys.load(server.app[VALKEY], server.app[CONFIG].session_key_ring, STUDENT.id) is None
    assert await call_module(page, "device_login.js", "(login) => login.currentSession()") is None
    await save_screenshot(page, request.node.name, "phone-revoked")


async def test_a_phone_replaced_by_another_is_told_to_enroll_again(open_page, server, request):
    first, _ = await open_phone(open_page, server)
    await enroll(first)
    await log_in(first)
    second, _ = await open_phone(open_page, server, **DESKTOP)
    await expect(access_title(second)).to_have_text("Tu asistencia está vinculada a otro teléfono")
    await second.get_by_role("button", name="Inscribir este teléfono en reemplazo del otro").click()
    await expect(access_title(second)).to_have_text("Inicia la sesión del día")

    await first.reload()
    await expect(access_title(first)).to_have_text("Tu asistencia está vinculada a otro teléfono")
    await expect(first.locator("#access-text")).to_contain_text(
        "Usa ese teléfono para marcar asistencia, o inscribe este en su reemplazo: contará tras un plazo de espera, "
        "o antes si tu profesor/a lo aprueba.")
    here = first.locator("#devices li.device-here")
    await expect(here).to_contain_text("Dado de baja")
    await expect(here).to_contain_text("se inscribió otro teléfono")
    await save_screenshot(first, request.node.name, "phone-other-device")
    await save_screenshot(second, request.node.name, "desktop-enrolled")


async def test_a_device_revoked_during_the_login_is_told_to_enroll_again(open_page, server, problems, request):
    page, _ = await open_phone(open_page, server)
    await enroll(page)
    [device] = (await as_student(server, "GET", "/api/enrollment/devices"))["devices"]

    async def revoke_first(route):
        # Revoked from another tab between the passkey prompt and the verification.
        await as_student(server, "DELETE", f"/api/enrollment/devices/{device['id']}")
        await route.continue_()

    await page.route("**/api/login/verify", revoke_first)
    problems.allow(r"status of 422 .*/api/login/verify\)$")
    await page.get_by_role("button", name="Iniciar sesión del día").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Este teléfono fue dado de baja. Inscríbelo de nuevo para marcar asistencia.")
    await expect(access_title(page)).to_have_text("Inscribe este teléfono de nuevo")
    await expect(page.get_by_role("button", name="Inscribir este teléfono")).to_be_visible()
    await save_screenshot(page, request.node.name, "phone-device-revoked")


async def test_a_cancelled_passkey_prompt_is_explained_and_nothing_is_enrolled(open_page, server, request):
    page, authenticator = await open_phone(open_page, server)
    await authenticator.refuse_user_verification()
    await page.get_by_role("button", name="Inscribir este teléfono").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Se canceló la verificación con la llave de acceso, o la llave no está en este teléfono. "
        "Vuelve a intentarlo y confirma con tu huella, rostro o PIN.")
    await expect(access_title(page)).to_have_text("Inscribe este teléfono")
    await expect(page.get_by_role("button", name="Inscribir este teléfono")).to_be_enabled()
    await expect(page.locator("#devices-empty")).to_be_visible()
    assert (await as_student(server, "GET", "/api/enrollment/devices"))["devices"] == []
    await save_screenshot(page, request.node.name, "phone-cancelled")


async def test_a_browser_without_passkeys_is_told_which_to_use_or_to_ask_the_professor(open_page, server, request):
    page = await open_page(server, None, **PHONE)
    await page.add_init_script("delete window.PublicKeyCredential")
    await page.goto(DEVICE_PAGE)
    await expect(page.locator("#access-support")).to_have_text(
        "Este navegador no permite usar llaves de acceso (passkeys). "
        "Abre esta página en tu teléfono con Chrome, Safari o Edge actualizados. "
        "Si tu teléfono no puede, pide a tu profesor que te marque.")
    await save_screenshot(page, request.node.name, "phone-no-passkeys")
    await expect(access_title(page)).to_have_text("Inscribe este teléfono")
    await expect(page.get_by_role("button", name="Inscribir este teléfono")).to_be_disabled()


async def test_a_copied_passkey_gets_the_phone_blocked_and_the_student_told_to_enroll_again(
        open_page, server, problems, request):
    page, authenticator = await open_phone(open_page, server)
    await enroll(page)
    await log_in(page)
    [copy] = await authenticator.credentials()  # the passkey as it stands now, counter included
    await page.get_by_role("button", name="Cerrar la sesión del día").click()
    await log_in(page)  # the original moves on: its counter goes up

    # The copy, with the older counter, is used on the same phone.
    await authenticator.remove()
    clone = await add_virtual_authenticator(page)
    await clone.add_credential(copy)
    await page.get_by_role("button", name="Cerrar la sesión del día").click()
    problems.allow(r"status of 422 .*/api/login/verify\)$")
    await page.get_by_role("button", name="Iniciar sesión del día").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Tu llave de acceso se usó desde una copia, así que dimos de baja este teléfono por seguridad. "
        "Inscríbelo de nuevo: se creará una llave nueva.")
    await expect(access_title(page)).to_have_text("Tu teléfono fue dado de baja por seguridad")
    await expect(page.locator("#devices li")).to_contain_text("se detectó una copia de la llave")
    await save_screenshot(page, request.node.name, "phone-clone-suspected")

    await enroll(page)
    await log_in(page)


async def test_a_replacement_phone_waits_until_the_professor_approves_it_on_the_dashboard(
        open_page, serve, dev_config, request):
    """The lost-phone case: the new phone is told it waits; the professor approves it from the
    dashboard in one press; the new phone logs in; the old one no longer counts."""
    server = await serve(dev_config.replace(device_cool_off_hours=24))
    old, _ = await open_phone(open_page, server)
    await enroll(old)
    new, _ = await open_phone(open_page, server)
    await expect(access_title(new)).to_have_text("Tu asistencia está vinculada a otro teléfono")
    await new.get_by_role("button", name="Inscribir este teléfono en reemplazo del otro").click()
    await expect(access_title(new)).to_have_text("Tu teléfono nuevo está en espera")
    await expect(new.locator("#access-text")).to_contain_text("o antes si tu profesor/a lo aprueba")
    await save_screenshot(new, request.node.name, "phone-pending")

    professor = mint_token(server.config, user_id=PROFESSOR.id, username=PROFESSOR.username, role="profesor")
    async with aiohttp.ClientSession(base_url=server.url, headers={"Authorization": f"Bearer {professor}"}) as http:
        async with http.post("/api/sessions", json={"course_code": "INF-239", "course_name": "Bases de Datos"}) as r:
            session_id = (await r.json())["id"]
    dashboard = await open_page(server, f"/asistencia/sessions/{session_id}/dashboard?as=profesor", **DESKTOP)
    name = STUDENT.full_name
    approve = dashboard.get_by_role("button", name=f"Aprobar ahora el teléfono nuevo de {name}")
    await expect(approve).to_be_visible()
    await save_screenshot(dashboard, request.node.name, "dashboard-pending-phone")
    await approve.click()
    await expect(dashboard.get_by_role("status").filter(has_text=f"El teléfono nuevo de {name} ya cuenta.")) \
        .to_be_visible()
    await expect(dashboard.locator("#pending-phones")).to_be_hidden()

    await new.reload()
    await log_in(new)
    await old.reload()
    await expect(access_title(old)).to_have_text("Tu asistencia está vinculada a otro teléfono")
