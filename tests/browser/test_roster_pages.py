"""Course roster and marks by hand in Chromium (issue 11): a roster CSV uploaded on the course
summary (a wrong check digit refused, line by line), its students who never joined absent in
the results and the summary, one of them justified from the results, and a student whose
phone has no passkey marked by hand by RUT."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from asistencia.demo import DEMO_USERS
from asistencia.tokens import mint_token
from tests import class_data
from tests.browser.harness import save_screenshot

pytestmark = pytest.mark.browser

PROFESSOR = next(user for user in DEMO_USERS if user.role == "profesor")
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
ROSTER = "RUT;Nombre\r\n12.345.678-5;Camila Rojas Muñoz\r\n15111222-6;Tomás Herrera Vidal\r\n"
BAD_ROSTER = ROSTER + "11444555-1;Dígito Malo\r\n"


@pytest.fixture
async def course(server, pg):
    professor = class_data.professor(pg, PROFESSOR.id, PROFESSOR.username, PROFESSOR.full_name)
    camila = class_data.student(pg, "12345678-5", "Camila Rojas Muñoz")
    held = class_data.class_session(pg, professor, join_code="AAAAAA")
    class_data.complete(pg, held, camila)
    today = class_data.class_session(pg, professor, join_code="BBBBBB",
                                     created_at=class_data.CLASS_START + class_data.MINUTE * 60 * 24)
    return {"held": held, "today": today}


def rows(page):
    return page.locator("#attendance-rows tr")


async def test_a_roster_makes_absentees_known_and_a_phone_without_passkey_is_marked_by_hand(
        open_page, server, course, request, problems):
    page = await open_page(server, f"/asistencia/sessions/{course['held']}/results?as=profesor", **DESKTOP)
    await expect(rows(page)).to_have_count(1)
    await page.goto("/asistencia/courses/INF-239/summary")
    await expect(page.locator("#roster-count")).to_have_text(
        "La nómina está vacía: solo cuentan quienes han entrado a alguna sesión.")

    problems.allow(r"status of 400 .*/roster\)$")
    await page.get_by_label("Archivo CSV de la nómina").set_input_files(
        files=[{"name": "nomina.csv", "mimeType": "text/csv", "buffer": BAD_ROSTER.encode()}])
    await page.get_by_role("button", name="Subir nómina").click()
    await expect(page.locator("#roster-problems li")).to_have_text([
        "Fila 4: el RUT «11444555-1» no es válido (revisa el dígito verificador) o está repetido."])
    await save_screenshot(page, request.node.name, "roster-refused")
    await page.get_by_label("Archivo CSV de la nómina").set_input_files(
        files=[{"name": "nomina.csv", "mimeType": "text/csv", "buffer": ROSTER.encode()}])
    await page.get_by_role("button", name="Subir nómina").click()
    await expect(page.locator("#roster-count")).to_have_text("2 estudiantes en la nómina.")
    await expect(page.locator("#roster-error")).to_be_hidden()

    # Today's class is live: the roster's students show on its dashboard before they join.
    await page.goto(f"/asistencia/sessions/{course['today']}/dashboard")
    waiting = page.locator("#roster-rows tr")
    await expect(waiting).to_have_count(2)
    await expect(waiting.filter(has_text="Tomás Herrera Vidal")).to_contain_text("Sin unirse")
    await page.get_by_label("Mostrar").select_option("not_started")
    await expect(waiting.filter(has_text="Camila Rojas Muñoz")).to_be_visible()
    await save_screenshot(page, request.node.name, "dashboard-roster-not-joined")
    await page.goto("/asistencia/courses/INF-239/summary")

    # The held session is closed here; Tomás never joined it, so he is absent in it.
    async with aiohttp.ClientSession(base_url=server.url) as http:
        await class_data.close(http, course["held"], mint_token(server.config, user_id=PROFESSOR.id,
                                                               username=PROFESSOR.username, role="profesor"))
    await page.reload()
    tomas = page.locator("#grid-rows tr").filter(has_text="Tomás Herrera Vidal")
    await expect(tomas).to_contain_text("No se registró0% (0 de 1)")
    await save_screenshot(page, request.node.name, "summary-with-roster")

    await page.goto(f"/asistencia/sessions/{course['held']}/results")
    await expect(rows(page)).to_have_count(2)
    absent = rows(page).filter(has_text="Tomás Herrera Vidal")
    await expect(absent).to_contain_text("Ausente")
    await expect(absent).to_contain_text("No entró a la sesión")
    await absent.get_by_role("button", name="Corregir el estado de Tomás Herrera Vidal").click()
    dialog = page.get_by_role("dialog", name="Corregir estado")
    await dialog.get_by_label("Nuevo estado").select_option(label="Justificado")
    await dialog.get_by_label("Motivo").fill("Licencia médica presentada en secretaría")
    await dialog.get_by_role("button", name="Guardar cambio").click()
    await expect(dialog).to_be_hidden()
    await expect(absent).to_contain_text("Justificado")
    await expect(absent).to_contain_text("Manual")

    # Today's class: Josefa's phone has no passkey; the professor marks her by RUT.
    await page.goto(f"/asistencia/sessions/{course['today']}/results")
    await expect(page.locator("#list-empty")).to_be_visible()
    await page.get_by_role("button", name="Marcar a un estudiante a mano").click()
    dialog = page.get_by_role("dialog", name="Marcar a mano")
    await dialog.get_by_role("button", name="Guardar cambio").click()
    await expect(dialog.locator("#override-rut-error")).to_have_text(
        "Escribe un RUT válido, con su dígito verificador (por ejemplo 12.345.678-5).")
    await dialog.get_by_label("RUT").fill("16.222.333-4")
    await dialog.get_by_label("Nombre").fill("Josefa Núñez Lagos")
    await dialog.get_by_label("Nuevo estado").select_option(label="Presente")
    await dialog.get_by_label("Motivo").fill("Su teléfono no admite llaves de acceso; estaba en la sala")
    problems.allow(r"status of 400 .*/attendance\)$")
    await dialog.get_by_role("button", name="Guardar cambio").click()
    await expect(dialog.locator("#override-rut-error")).to_be_visible()
    await dialog.get_by_label("RUT").fill("16.222.333-K")
    await save_screenshot(page, request.node.name, "mark-by-hand")
    await dialog.get_by_role("button", name="Guardar cambio").click()
    await expect(dialog).to_be_hidden()
    josefa = rows(page).filter(has_text="Josefa Núñez Lagos")
    await expect(josefa).to_contain_text("16222333-K")
    await expect(josefa).to_contain_text("Presente")
    await expect(josefa).to_contain_text("Manual")
    await save_screenshot(page, request.node.name, "marked-by-hand")
