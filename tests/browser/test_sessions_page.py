"""The professor's sessions page (/asistencia/sessions) in Chromium: own sessions with
the active ones first, the new-session form and its Spanish field errors (from the
page's own checks and from the API), and closing a session from the list."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import expect

from asistencia.demo import DEMO_USERS
from asistencia.tokens import mint_token
from tests.browser.harness import save_screenshot

pytestmark = pytest.mark.browser

PROFESSOR = next(user for user in DEMO_USERS if user.role == "profesor")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
LONG_NAME = ("Taller de Integración de Sistemas Distribuidos, Computación en la Nube "
             "y Arquitecturas Orientadas a Servicios")


async def open_sessions(server, professor_id: int, *sessions: dict) -> list[dict]:
    """Sessions opened (and closed, when asked) through the real endpoints, in order."""
    token = mint_token(server.config, user_id=professor_id, username=f"prof{professor_id}@usm.cl", role="profesor")
    opened = []
    async with aiohttp.ClientSession(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        for fields in sessions:
            body = {key: value for key, value in fields.items() if key != "closed"}
            async with http.post("/api/sessions", json=body) as response:
                assert response.status == 201, await response.text()
                session = await response.json()
            if fields.get("closed"):
                async with http.post(f"/api/sessions/{session['id']}/close") as response:
                    assert response.status == 200, await response.text()
            opened.append(session)
    return opened


def items(page):
    return page.locator("#session-list li")


async def test_sessions_are_listed_active_first_opened_with_checked_fields_and_closed(
        open_page, server, request, problems):
    older, _ = await open_sessions(
        server, PROFESSOR.id,
        {"course_code": "INF-239", "course_name": LONG_NAME, "room": "A-201", "block": "1-2"},
        {"course_code": "INF-152", "course_name": "Estructuras de Datos", "closed": True})
    await open_sessions(server, 2002, {"course_code": "MAT-021", "course_name": "Otra profesora"})

    page = await open_page(server, "/asistencia/sessions?as=profesor", **PHONE)
    await expect(items(page)).to_have_count(2)
    await expect(items(page).nth(0)).to_contain_text(f"{LONG_NAME} (INF-239)")
    await expect(items(page).nth(0)).to_contain_text(f"Código: {older['join_code']}")
    await expect(items(page).nth(0)).to_contain_text("0 ingresaron, 0 presentes")
    await expect(items(page).nth(1)).to_contain_text("Estructuras de Datos (INF-152)")
    await expect(items(page).nth(1)).to_contain_text("Cerrada")
    await expect(items(page).nth(1).get_by_role("link", name=re.compile("^Proyectar"))).to_have_count(0)
    await expect(page.get_by_text("Otra profesora")).to_have_count(0)
    await expect(page.locator("#new-session-prefilled")).to_be_hidden()
    await save_screenshot(page, request.node.name, "phone")

    # Checked in the page: the course is required, rounds are 1–10.
    await page.get_by_label("Rondas").fill("11")
    await page.get_by_role("button", name="Abrir sesión").click()
    await expect(page.locator("#error-course_code")).to_have_text("Escribe la sigla del curso (hasta 50 caracteres).")
    await expect(page.locator("#error-course_name")).to_have_text("Escribe el nombre del curso (hasta 200 caracteres).")
    await expect(page.locator("#error-rounds")).to_have_text("Las rondas deben ser un número entero entre 1 y 10.")
    await expect(page.get_by_label("Sigla del curso")).to_be_focused()
    await expect(page.get_by_label("Sigla del curso")).to_have_attribute("aria-invalid", "true")

    # Checked by the API: a network that is not a CIDR.
    await page.get_by_label("Sigla del curso").fill("INF-253")
    await page.get_by_label("Nombre del curso").fill("Lenguajes de Programación")
    await page.get_by_label("Rondas").fill("2")
    await page.get_by_label("Redes permitidas").fill("10.0.0.0/8\n300.1.2.0/24")
    problems.allow(r"status of 400 .*/api/sessions\)$")
    await page.get_by_role("button", name="Abrir sesión").click()
    await expect(page.locator("#error-allowed_networks")).to_have_text(
        "Revisa las redes: una por línea, en formato CIDR como 10.0.0.0/8 o 200.1.2.0/24.")
    await expect(page.locator("#new-session-error")).to_have_text("Revisa los datos marcados.")
    await expect(page.get_by_label("Redes permitidas")).to_be_focused()
    await expect(page.locator("#error-course_code")).to_be_hidden()
    await save_screenshot(page, request.node.name, "phone-refused")

    await page.get_by_label("Redes permitidas").fill("10.0.0.0/8\n200.1.2.0/24")
    await page.get_by_role("button", name="Abrir sesión").click()
    await expect(items(page)).to_have_count(3)
    await expect(items(page).nth(0)).to_contain_text("Lenguajes de Programación (INF-253)")
    await expect(items(page).nth(0).locator("h3")).to_be_focused()
    await expect(page.locator("#new-session-error")).to_be_hidden()

    long_item = items(page).filter(has_text=LONG_NAME)
    close_button = long_item.get_by_role("button", name=f"Cerrar sesión de clase de {LONG_NAME} (INF-239)")
    dialog = page.get_by_role("dialog", name="¿Cerrar esta sesión de clase?")
    # Second thoughts: cancelling closes nothing.
    await close_button.click()
    await dialog.get_by_role("button", name="Cancelar").click()
    await expect(dialog).to_be_hidden()
    await expect(long_item.locator(".badge")).not_to_have_text("Cerrada")
    await expect(close_button).to_be_visible()

    await close_button.click()
    await expect(dialog).to_contain_text(f"{LONG_NAME} · código {older['join_code']}")
    await dialog.get_by_role("button", name="Cerrar sesión").click()
    await expect(page.get_by_role("status").filter(has_text="Sesión de clase cerrada.")).to_be_visible()
    await expect(long_item).to_contain_text("Cerrada")
    # A closed session may still be cancelled (a mistaken one), nothing else.
    await expect(long_item.get_by_role("button")).to_have_text(["Cancelar sesión"])
    # Closed ones after the active, newest first.
    await expect(items(page).nth(0)).to_contain_text("Lenguajes de Programación (INF-253)")
    await expect(items(page).nth(1)).to_contain_text("Estructuras de Datos (INF-152)")
    await expect(items(page).nth(2)).to_contain_text(LONG_NAME)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await save_screenshot(page, request.node.name, "phone-closed")


async def test_the_professor_may_choose_the_projection_mode(open_page, server):
    """Automatic by default (the course's size decides); a professor may pick one (issue 12)."""
    page = await open_page(server, "/asistencia/sessions?as=profesor", **PHONE)
    mode = page.get_by_label("Proyección")
    await expect(mode).to_have_value("auto")
    await page.get_by_label("Sigla del curso").fill("MAT-021")
    await page.get_by_label("Nombre del curso").fill("Cálculo I")
    await mode.select_option(label="Un código para todo el curso (salas grandes)")
    async with page.expect_response("**/api/sessions") as created:
        await page.get_by_role("button", name="Abrir sesión").click()
    session = await (await created.value).json()
    assert (session["course_code"], session["projection_mode"]) == ("MAT-021", "shared")
