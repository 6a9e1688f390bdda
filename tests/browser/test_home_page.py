"""The page chrome every page shares, on the home page: who is logged in, role-aware
navigation, the dev identity switch, and the page-level error when there is no token."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.harness import save_screenshot

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1920, "height": 1080}}


async def test_students_are_sent_to_their_phone_and_staff_to_their_sessions(open_page, server, request):
    student = await open_page(server, "/asistencia/?as=alumno", **PHONE)
    await expect(student.locator("#whoami")).to_have_text("Camila Rojas Muñoz · Estudiante")
    await expect(student.get_by_role("link", name="Ir a mi teléfono")).to_have_attribute("href", "/asistencia/device")
    navigation = student.get_by_role("navigation", name="Navegación principal")
    await expect(navigation.get_by_role("link", name="Mi teléfono")).to_be_visible()
    await expect(navigation.get_by_role("link", name="Mis sesiones")).to_be_hidden()
    await expect(student.get_by_role("link", name="Ir a mis sesiones")).to_be_hidden()
    await save_screenshot(student, request.node.name, "phone-student")

    staff = await open_page(server, "/asistencia/?as=profesor", **DESKTOP)
    await expect(staff.locator("#whoami")).to_have_text("Profesora Demo Contreras · Profesor/a")
    await expect(staff.get_by_role("link", name="Ir a mis sesiones")).to_have_attribute("href", "/asistencia/sessions")
    await expect(staff.get_by_role("navigation").get_by_role("link", name="Mis sesiones")).to_be_visible()
    await expect(staff.get_by_role("link", name="Ir a mi teléfono")).to_be_hidden()
    await save_screenshot(staff, request.node.name, "desktop-professor")

    # The dev banner switches identity on the same page, keeping its query.
    await staff.goto("/asistencia/?as=profesor&keep=1")
    await staff.get_by_role("link", name="admin").click()
    await expect(staff.locator("#whoami")).to_have_text("Administración Demo · Administración")
    assert staff.url.endswith("/asistencia/?as=admin&keep=1")
    await expect(staff.get_by_role("link", name="Ir a mis sesiones")).to_be_visible()
    # An admin's sessions are everyone's: the navigation says so.
    await expect(staff.get_by_role("navigation").get_by_role("link", name="Todas las sesiones")).to_be_visible()
    await expect(staff.get_by_role("navigation").get_by_role("link", name="Mis sesiones")).to_be_hidden()


async def test_without_a_token_the_page_says_to_log_in_again(open_page, server, problems, request):
    page = await open_page(server, None, **PHONE)
    await page.route("**/api/dev/token", lambda route: route.fulfill(status=401, json={
        "error": {"code": "NOT_LOGGED_IN", "message": "no PHP session"}}))
    problems.allow(r"status of 401 .*/api/dev/token\)$")
    await page.goto("/asistencia/device?as=alumno")
    alert = page.get_by_role("alert").filter(has_text="No pudimos abrir esta página")
    await expect(alert).to_contain_text(
        "Tu sesión expiró o no has ingresado. Vuelve a ingresar desde el portal de la universidad "
        "y abre esta página de nuevo.")
    await expect(page.get_by_role("heading", name="Mi teléfono")).to_be_hidden()
    await save_screenshot(page, request.node.name, "phone-no-token")

    await page.unroute("**/api/dev/token")
    await alert.get_by_role("button", name="Recargar la página").click()
    await expect(page.locator("#access-title")).to_have_text("Inscribe este teléfono")


async def test_a_page_for_another_role_says_so(open_page, server):
    page = await open_page(server, "/asistencia/device?as=profesor")
    await expect(page.get_by_role("alert")).to_contain_text(
        "Esta página no está disponible para tu perfil (Profesor/a).")
    await expect(page.get_by_role("link", name="Volver al inicio")).to_be_visible()
