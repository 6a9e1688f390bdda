"""Sessions professors can trust, in Chromium (issue 11): a double click opens one session,
a draft is saved, edited and opened once when class starts (from the sessions page or its
projector), a mistaken one is cancelled with a reason, an admin sees and filters everyone's
sessions, the dashboard's counters and filter follow an override, and the projector says
which page reads its codes and keeps projecting when the dashboard is opened."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import expect

from asistencia.demo import DEMO_USERS
from asistencia.tokens import mint_token
from tests import class_data
from tests.browser.harness import add_virtual_authenticator, save_screenshot
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_class_pages import PHONE

pytestmark = pytest.mark.browser

PROFESSOR = next(user for user in DEMO_USERS if user.role == "profesor")
STUDENT = next(user for user in DEMO_USERS if user.role == "alumno")
DESKTOP = {"viewport": {"width": 1366, "height": 900}}


async def api(server, user_id: int, role: str, method: str, path: str, body: dict | None = None,
              full_name: str | None = None) -> dict:
    token = mint_token(server.config, user_id=user_id, username=f"user{user_id}@usm.cl", role=role,
                       full_name=full_name)
    async with aiohttp.ClientSession(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.request(method, path, json=body) as response:
            assert response.status in (200, 201), await response.text()
            return await response.json()


def items(page):
    return page.locator("#session-list li")


async def test_a_double_click_opens_one_session_and_a_mistaken_one_is_cancelled(open_page, server, request,
                                                                                 problems):
    page = await open_page(server, "/asistencia/sessions?as=profesor", **DESKTOP)
    await expect(page.locator("#list-empty")).to_have_text("Aún no has abierto sesiones.")
    await page.get_by_label("Sigla del curso").fill("INF-239")
    await page.get_by_label("Nombre del curso").fill("Bases de Datos")
    await page.get_by_role("button", name="Abrir sesión").dblclick()
    await expect(items(page)).to_have_count(1)
    await expect(page.get_by_label("Sigla del curso")).to_have_value("")
    # One more click on the emptied form opens nothing: it asks for the course instead.
    await page.get_by_role("button", name="Abrir sesión").click()
    await expect(page.locator("#error-course_code")).to_be_visible()
    listed = await api(server, PROFESSOR.id, "profesor", "GET", "/api/sessions")
    assert len(listed["sessions"]) == 1

    item = items(page).first
    await item.get_by_role("button", name="Cancelar sesión de Bases de Datos (INF-239)").click()
    dialog = page.get_by_role("dialog", name="¿Cancelar esta sesión de clase?")
    await expect(dialog).to_contain_text("no contará en la asistencia del curso")
    await dialog.get_by_role("button", name="Cancelar sesión").click()
    await expect(dialog.locator("#cancel-reason-error")).to_have_text("Escribe por qué cancelas la sesión.")
    await expect(dialog.get_by_label("Motivo")).to_be_focused()
    await save_screenshot(page, request.node.name, "cancel-dialog")
    await dialog.get_by_label("Motivo").fill("La abrí por error: era la clase de mañana")
    await dialog.get_by_role("button", name="Cancelar sesión").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("status").filter(has_text="Sesión cancelada")).to_be_visible()
    await expect(item.locator(".badge")).to_have_text("Cancelada")
    await expect(item).to_contain_text("Cancelada: La abrí por error: era la clase de mañana")
    await expect(item.get_by_role("button")).to_have_count(0)
    await expect(item.get_by_role("link", name="Resultados de Bases de Datos (INF-239)")).to_be_visible()
    await save_screenshot(page, request.node.name, "cancelled")
    [session] = (await api(server, PROFESSOR.id, "profesor", "GET", "/api/sessions"))["sessions"]
    assert (session["status"], session["cancelled_by"]) == ("cancelled", PROFESSOR.id)


async def test_an_admin_sees_everyones_sessions_with_their_professor_and_filters_them(open_page, server, request):
    await api(server, 2001, "profesor", "POST", "/api/sessions",
              {"course_code": "INF-239", "course_name": "Bases de Datos"}, full_name="Profesora Contreras")
    munoz = await api(server, 2002, "profesor", "POST", "/api/sessions",
                      {"course_code": "MAT-021", "course_name": "Cálculo"}, full_name="Profesor Muñoz")
    await api(server, 2002, "profesor", "POST", f"/api/sessions/{munoz['id']}/close", full_name="Profesor Muñoz")

    page = await open_page(server, "/asistencia/sessions?as=admin", **DESKTOP)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Todas las sesiones")
    await expect(page.locator("#list-title")).to_have_text("Sesiones de todos los profesores")
    await expect(items(page)).to_have_count(2)
    await expect(items(page).filter(has_text="Cálculo (MAT-021)")).to_contain_text("Profesor(a): Profesor Muñoz")
    await expect(items(page).filter(has_text="Bases de Datos")).to_contain_text("Profesor(a): Profesora Contreras")

    filters = page.get_by_role("form", name="Filtrar sesiones")
    await filters.get_by_label("Profesor (nombre o correo)").fill("muñoz")
    await filters.get_by_role("button", name="Filtrar").click()
    await expect(items(page)).to_have_count(1)
    await expect(items(page).first).to_contain_text("Cálculo (MAT-021)")
    await save_screenshot(page, request.node.name, "admin-filtered")
    await filters.get_by_label("Estado de la sesión").select_option(label="Activa")
    await filters.get_by_role("button", name="Filtrar").click()
    await expect(page.locator("#list-empty")).to_have_text("Ninguna sesión coincide con los filtros.")
    await filters.get_by_role("button", name="Quitar filtros").click()
    await expect(items(page)).to_have_count(2)
    await filters.get_by_label("Curso (sigla)").fill("INF-239")
    await filters.get_by_role("button", name="Filtrar").click()
    await expect(items(page)).to_have_count(1)
    await expect(items(page).first).to_contain_text("Bases de Datos (INF-239)")


async def test_dashboard_counters_and_filter_follow_an_override(open_page, server, pg, request):
    professor = class_data.professor(pg, PROFESSOR.id, PROFESSOR.username, PROFESSOR.full_name)
    session = class_data.class_session(pg, professor)
    camila = class_data.student(pg, "12345678-5", "Camila Rojas Muñoz")
    matias = class_data.student(pg, "19876543-2", "Matías González Soto")
    valentina = class_data.student(pg, "20111222-3", "Valentina Díaz Pérez")
    class_data.complete(pg, session, camila)
    class_data.join(pg, session, matias)
    class_data.join(pg, session, valentina, state="failed", failures=3)

    projector = await open_page(server, f"/asistencia/sessions/{session}/projector?as=profesor", **DESKTOP)
    await expect(projector.locator("#scan-with")).to_have_text(
        f"Los códigos grandes se escanean con la página Asistencia ({server.url.removeprefix('http://')}"
        "/asistencia/scan), no con la cámara del teléfono.")
    dashboard_link = projector.get_by_role("link", name="Panel en vivo (se abre en otra pestaña)")
    await expect(dashboard_link).to_have_attribute("target", "_blank")
    await save_screenshot(projector, request.node.name, "projector")

    page = await open_page(server, f"/asistencia/sessions/{session}/dashboard?as=profesor", **DESKTOP)
    counter = lambda key: page.locator(f'[data-counter="{key}"] dd')  # noqa: E731
    rows = page.locator("#roster-rows tr:visible")
    await expect(counter("in_progress")).to_have_text("1")
    await expect(counter("failed")).to_have_text("1")
    await expect(rows).to_have_count(3)
    show = page.get_by_label("Mostrar")
    await show.select_option("not_started")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Matías González Soto")
    await show.select_option("failed")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Valentina Díaz Pérez")
    await expect(show.locator("option[value=done]")).to_have_text("Terminados (1)")

    # Matías's phone died; the professor justifies him in the results: the open dashboard follows.
    await api(server, PROFESSOR.id, "profesor", "PATCH", f"/api/sessions/{session}/attendance/{matias}",
              {"status": "JUSTIFIED", "note": "Su teléfono no enciende; estaba en la sala"})
    await expect(counter("justified")).to_have_text("1")
    await expect(counter("in_progress")).to_have_text("0")
    await expect(show.locator("option[value=done]")).to_have_text("Terminados (2)")
    await show.select_option("done")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="Matías González Soto")).to_contain_text("Justificado")
    await save_screenshot(page, request.node.name, "dashboard-after-override")


async def test_cancelling_from_the_dashboard_stops_the_projector(open_page, server, request):
    session = await api(server, PROFESSOR.id, "profesor", "POST", "/api/sessions",
                        {"course_code": "INF-239", "course_name": "Bases de Datos"})
    projector = await open_page(server, f"/asistencia/sessions/{session['id']}/projector?as=profesor", **DESKTOP)
    await expect(projector.locator("#join-code")).to_have_text(session["join_code"])
    page = await open_page(server, f"/asistencia/sessions/{session['id']}/dashboard?as=profesor", **DESKTOP)
    await expect(page.locator("#roster-empty")).to_be_visible()
    await page.get_by_role("button", name="Cancelar sesión").click()
    dialog = page.get_by_role("dialog", name="¿Cancelar esta sesión de clase?")
    await dialog.get_by_label("Motivo").fill("Era otro curso")
    await dialog.get_by_role("button", name="Cancelar sesión").click()
    await expect(page.locator("#cancelled-note")).to_have_text("Cancelada: Era otro curso")
    await expect(page.locator('[data-fact="state"] dd')).to_have_text("Cancelada")
    await expect(page.get_by_role("button", name="Cerrar sesión de clase")).to_be_hidden()
    await expect(page.get_by_role("button", name="Cancelar sesión")).to_be_hidden()
    await expect(projector.locator("#projector")).to_have_attribute("data-state", "closed")
    await expect(projector.locator("#qr-frame")).to_be_hidden()
    await save_screenshot(page, request.node.name, "dashboard-cancelled")
    await save_screenshot(projector, request.node.name, "projector-after-cancel")


async def test_a_draft_is_saved_opened_once_on_a_double_click_and_then_joined(server, open_page, request, problems):
    # `server` first: it stops after the pages (their sockets would report its going as a problem).
    page = await open_page(server, "/asistencia/sessions?as=profesor", bypass_csp=True, **DESKTOP)
    await page.get_by_label("Sigla del curso").fill("INF-239")
    await page.get_by_label("Nombre del curso").fill("Bases de Datos")
    await page.get_by_label("Duración (minutos)").fill("90")
    await page.get_by_role("button", name="Guardar como borrador").click()
    await expect(page.get_by_role("status").filter(has_text="Borrador guardado")).to_be_visible()
    await expect(items(page)).to_have_count(1)
    item = items(page).first
    await expect(item.locator(".badge")).to_have_text("Borrador")
    await expect(item).to_contain_text("Borrador creado el")
    await expect(item.get_by_role("link")).to_have_count(0)
    await expect(page.get_by_label("Sigla del curso")).to_have_value("")
    join_code = await item.locator(".code").inner_text()
    session_id = int(await item.get_attribute("data-session-id"))
    await save_screenshot(page, request.node.name, "draft")
    assert await serious_violations(page) == []

    # Until it opens, the draft is edited in the same form.
    await item.get_by_role("button", name="Editar el borrador de Bases de Datos (INF-239)").click()
    await expect(page.locator("#new-session-title")).to_have_text("Editar el borrador de Bases de Datos (INF-239)")
    await expect(page.get_by_label("Duración (minutos)")).to_have_value("90")
    await page.get_by_label("Sala").fill("B-104")
    await save_screenshot(page, request.node.name, "draft-editing")
    assert await serious_violations(page) == []
    await page.get_by_role("button", name="Guardar como borrador").click()
    await expect(page.get_by_role("status").filter(has_text="Borrador actualizado.")).to_be_visible()
    await expect(item).to_contain_text("sala B-104")
    await expect(items(page)).to_have_count(1)
    await expect(page.locator("#new-session-title")).to_have_text("Abrir una sesión de clase")
    await expect(page.get_by_label("Sala")).to_have_value("")

    # Its projector, opened early, says it is a draft instead of showing a code.
    projector = await open_page(server, f"/asistencia/sessions/{session_id}/projector?as=profesor",
                                bypass_csp=True, **DESKTOP)
    await expect(projector.locator("#projector")).to_have_attribute("data-state", "draft")
    await expect(projector.get_by_text("Esta sesión es un borrador")).to_be_visible()
    await expect(projector.get_by_role("button", name="Abrir la sesión ahora")).to_be_visible()
    await expect(projector.locator("#course-name")).to_have_text("Bases de Datos")
    await save_screenshot(projector, request.node.name, "projector-draft")
    assert await serious_violations(projector) == []
    # Its dashboard shows the draft, and follows it when it is opened (below).
    dashboard = await open_page(server, f"/asistencia/sessions/{session_id}/dashboard?as=profesor",
                                bypass_csp=True, **DESKTOP)
    state = dashboard.locator("[data-fact=state] dd")
    await expect(state).to_have_text("Borrador")
    await expect(dashboard.locator("[data-fact=ends_at]")).to_have_count(0)
    await save_screenshot(dashboard, request.node.name, "dashboard-draft")
    assert await serious_violations(dashboard) == []

    # A student who has the code already is told the class has not opened yet.
    problems.allow(r"status of 422 .*/api/attendance/join\)$")
    phone = await open_page(server, None, bypass_csp=True, **PHONE)
    await add_virtual_authenticator(phone)
    await phone.goto(f"/asistencia/device?as=alumno&user_id={STUDENT.id}")
    await phone.get_by_role("button", name="Inscribir este teléfono").click()
    await expect(phone.locator("#access-title")).to_have_text("Inicia la sesión del día")
    await phone.goto(f"/asistencia/scan?code={join_code}")
    # Said before any passkey prompt (the join code's lookup), the code kept in the field.
    await expect(phone.locator("#join-code")).to_have_value(join_code)
    await expect(phone.locator("#join-error")).to_have_text(
        "La clase aún no se abre. Espera a que tu profesor/a la abra y vuelve a intentarlo.")
    await save_screenshot(phone, request.node.name, "scanner-draft")
    assert await serious_violations(phone) == []

    await item.get_by_role("button", name="Abrir ahora Bases de Datos (INF-239)").dblclick()
    await expect(page.get_by_role("status").filter(has_text=f"Sesión abierta. Código para los estudiantes: "
                                                            f"{join_code}.")).to_be_visible()
    await expect(item.locator(".badge")).to_contain_text("Activa hasta las")
    await expect(item.get_by_role("link", name="Proyectar Bases de Datos (INF-239) (se abre en otra pestaña)")) \
        .to_be_visible()
    await expect(state).to_have_text(re.compile(r"^Activa, quedan 1:(29|30):\d\d$"))
    await save_screenshot(page, request.node.name, "opened")
    assert await serious_violations(page) == []
    [session] = (await api(server, PROFESSOR.id, "profesor", "GET", "/api/sessions"))["sessions"]
    assert (session["id"], session["status"], session["join_code"]) == (session_id, "active", join_code)

    # The student tries again: the day's login, then in.
    await phone.get_by_role("button", name="Entrar").click()
    await phone.get_by_role("button", name="Confirmar con huella, rostro o PIN").click()
    await expect(phone.locator("#scanner")).to_be_visible()
    await expect(phone.locator("#rounds-label")).to_have_text("Rondas listas: 0 de 3")
    await save_screenshot(phone, request.node.name, "scanner-joined")


async def test_a_draft_is_opened_from_its_projector_when_class_starts(server, open_page, request):
    draft = await api(server, PROFESSOR.id, "profesor", "POST", "/api/sessions",
                      {"course_code": "INF-239", "course_name": "Bases de Datos", "open": False})
    projector = await open_page(server, f"/asistencia/sessions/{draft['id']}/projector?as=profesor",
                                bypass_csp=True, **DESKTOP)
    await expect(projector.locator("#projector")).to_have_attribute("data-state", "draft")
    opening = projector.get_by_role("button", name="Abrir la sesión ahora")
    await opening.click()
    await expect(projector.locator("#projector")).to_have_attribute("data-state", "projecting")
    await expect(opening).to_be_hidden()
    await expect(projector.locator("#join-code")).to_have_text(draft["join_code"])
    await save_screenshot(projector, request.node.name, "projecting")
    assert await serious_violations(projector) == []
    session = await api(server, PROFESSOR.id, "profesor", "GET", f"/api/sessions/{draft['id']}")
    assert (session["status"], session["open"]) == ("active", True)
