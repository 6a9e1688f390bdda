"""The professor's results page and course summary (issue 6) in Chromium, on class
data written straight into PostgreSQL: list, filters, sorting, an override
through the dialog with its audit, and the CSV downloads checked byte by byte."""

from __future__ import annotations

import csv
import datetime
import io

import aiohttp
import pytest
from playwright.async_api import expect

from asistencia.demo import DEMO_USERS
from asistencia.tokens import mint_token
from tests import class_data
from tests.browser.harness import save_screenshot

pytestmark = pytest.mark.browser

PROFESSOR = next(user for user in DEMO_USERS if user.role == "profesor")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1920, "height": 1080}}
DAY = datetime.timedelta(days=1)
BOM = b"\xef\xbb\xbf"

STUDENTS = {
    "12345678-5": "Ana Araya Rojas",
    "19876543-2": "Bruno Bravo",
    "20111222-3": "=cmd()",
    "18555444-K": "Diego Díaz",
    "21000111-7": "María José de los Ángeles Fernández-Villalobos Undurraga",
}
# Today's class: status, certainty, response times (ms), minutes after the start the student joined.
TODAY = {
    "12345678-5": ("PRESENT", 92, (900, 1100, 1000), 1),
    "19876543-2": ("LATE", 81, (1200, 1400, 1300), 12),
    "20111222-3": ("DOUBTFUL", 45, (300, 2900, 800), 2),
    "18555444-K": ("ABSENT", None, (1500,), 3),
    "21000111-7": ("PRESENT", 88, (1000, 1000, 1200), 1),
}
# Earlier classes of the course: what each student ended with (missing: did not register).
EARLIER = [
    ("AAAAAA", "1-2", -21 * DAY, {"12345678-5": "PRESENT", "19876543-2": "ABSENT", "20111222-3": "PRESENT",
                                  "18555444-K": "PRESENT", "21000111-7": "LATE"}),
    ("BBBBBB", "1-2", -14 * DAY, {"12345678-5": "PRESENT", "19876543-2": "LATE", "21000111-7": "PRESENT"}),
    ("CCCCCC", "3-4", -7 * DAY, {"12345678-5": "LATE", "20111222-3": "ABSENT", "18555444-K": "DOUBTFUL",
                                 "21000111-7": "PRESENT"}),
]


@pytest.fixture
async def course(server, pg):
    """INF-239 of the demo professor: three earlier closed classes, today's closed one, one still active."""
    professor = class_data.professor(pg, PROFESSOR.id, PROFESSOR.username, PROFESSOR.full_name)
    professor_token = mint_token(server.config, user_id=PROFESSOR.id, username=PROFESSOR.username, role="profesor")
    http = aiohttp.ClientSession(base_url=server.url)
    ids = {rut: class_data.student(pg, rut, name) for rut, name in STUDENTS.items()}
    for join_code, block, offset, outcomes in EARLIER:
        session = class_data.class_session(pg, professor, join_code=join_code, block=block,
                                           created_at=class_data.CLASS_START + offset)
        for rut, status in outcomes.items():
            if status == "ABSENT":
                class_data.join(pg, session, ids[rut])
            else:
                class_data.complete(pg, session, ids[rut], status=status, certainty=80)
        await class_data.close(http, session, professor_token)
    today = class_data.class_session(pg, professor)
    for rut, (status, certainty, times, minute) in TODAY.items():
        joined = minute * class_data.MINUTE
        if status == "ABSENT":
            registration = class_data.join(pg, today, ids[rut], joined_after=joined, failures=2)
            class_data.pass_rounds(pg, registration, list(times))
        else:
            class_data.complete(pg, today, ids[rut], status=status, certainty=certainty, response_ms=times,
                                joined_after=joined)
    await class_data.close(http, today, professor_token)
    await http.close()
    class_data.class_session(pg, professor, join_code="DDDDDD", created_at=class_data.CLASS_START + 3 * DAY / 24)
    return {"today": today, "ids": ids}


def rows_of(page):
    return page.locator("#attendance-rows tr")


async def names_in_order(page) -> list[str]:
    return await page.locator("#attendance-rows td.student strong").all_inner_texts()


async def downloaded(page, button_name: str) -> tuple[str, bytes]:
    async with page.expect_download() as info:
        await page.get_by_role("button", name=button_name).click()
    download = await info.value
    path = await download.path()
    return download.suggested_filename, path.read_bytes()


def spreadsheet(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM), "Excel needs the BOM to read UTF-8"
    text = body[len(BOM):].decode("utf-8")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


async def test_results_page_lists_filters_sorts_overrides_and_downloads(open_page, server, course, pg, request,
                                                                        problems):
    problems.allow(r"status of 404 .*/api/sessions/\d+/fraud\)$")  # a server without the fraud counters
    page = await open_page(server, f"/asistencia/sessions/{course['today']}/results?as=profesor", **DESKTOP)
    await expect(page.locator("#session-title")).to_have_text("Bases de Datos (INF-239)")
    await expect(page.locator("#session-meta")).to_contain_text("KXMPRT")
    await expect(page.locator("#session-meta")).to_contain_text("Cerrada")
    await expect(rows_of(page)).to_have_count(5)
    await expect(page.locator("#list-count")).to_have_text("Mostrando 5 de 5 estudiantes.")
    await expect(page.locator("#totals")).to_contain_text("Presente2")
    assert await names_in_order(page) == ["=cmd()", "Ana Araya Rojas", "Bruno Bravo", "Diego Díaz",
                                          STUDENTS["21000111-7"]]
    diego = rows_of(page).filter(has_text="Diego Díaz")
    await expect(diego.locator("td").nth(1)).to_have_text("Ausente")
    await expect(diego.locator("td").nth(3)).to_have_text("1 / 3")
    await expect(diego.locator("td").nth(6)).to_have_text("2")
    ana = rows_of(page).filter(has_text="Ana Araya Rojas")
    await expect(ana.locator("td").nth(2)).to_have_text("92")
    # 900, 1100 and 1000 ms: mean 1.00 s, population sd 0.08 s.
    await expect(ana.locator("td").nth(4)).to_have_text("1,00 s ± 0,08 s")
    await expect(ana.locator("td").nth(5)).to_have_text("1,00 s (0,90 s–1,10 s)")
    await expect(ana.locator("td").nth(7)).to_have_text("10:01")
    summary_link = page.get_by_role("link", name="Resumen del curso")
    await expect(summary_link).to_have_attribute("href", "/asistencia/courses/INF-239/summary?semester=2026-2")

    # Filters and sorting happen in the page, over the one list it fetched.
    await page.get_by_label("Buscar por nombre o RUT").fill("fernandez")
    await expect(rows_of(page)).to_have_count(1)
    await expect(page.locator("#list-count")).to_have_text("Mostrando 1 de 5 estudiantes.")
    await page.get_by_label("Buscar por nombre o RUT").fill("zzz")
    await expect(page.locator("#list-empty")).to_have_text("Ningún estudiante coincide con los filtros.")
    await page.get_by_label("Buscar por nombre o RUT").fill("")
    await page.get_by_label("Estado", exact=True).select_option("PRESENT")
    await expect(rows_of(page)).to_have_count(2)
    await page.get_by_label("Estado", exact=True).select_option("")
    certainty = page.get_by_role("columnheader", name="Certeza")
    await certainty.get_by_role("button").click()
    await expect(certainty).to_have_attribute("aria-sort", "ascending")
    assert await names_in_order(page) == ["=cmd()", "Bruno Bravo", STUDENTS["21000111-7"], "Ana Araya Rojas",
                                          "Diego Díaz"]  # no certainty: last either way
    await certainty.get_by_role("button").click()
    await expect(certainty).to_have_attribute("aria-sort", "descending")
    assert await names_in_order(page) == ["Ana Araya Rojas", STUDENTS["21000111-7"], "Bruno Bravo", "=cmd()",
                                          "Diego Díaz"]
    await expect(page.get_by_label("Ordenar por")).to_have_value("-certainty")
    await save_screenshot(page, request.node.name, "desktop-list")

    # An override through the dialog: the note is required, then the list and the audit show it.
    await page.get_by_role("button", name="Corregir el estado de Diego Díaz").click()
    dialog = page.get_by_role("dialog", name="Corregir estado")
    await expect(dialog).to_contain_text("Diego Díaz · RUT 18555444-K")
    await expect(dialog).to_contain_text("Sin cambios anteriores.")
    await dialog.get_by_label("Nuevo estado").select_option("JUSTIFIED")
    await dialog.get_by_label("Motivo").fill("   ")
    await dialog.get_by_role("button", name="Guardar cambio").click()
    await expect(dialog.locator("#override-note-error")).to_have_text("Escribe el motivo del cambio.")
    await expect(dialog.get_by_label("Motivo")).to_be_focused()
    await dialog.get_by_label("Motivo").fill("Licencia médica presentada en secretaría")
    await dialog.get_by_role("button", name="Guardar cambio").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("status").filter(has_text="Estado de Diego Díaz: Justificado.")).to_be_visible()
    await expect(diego.locator("td").nth(1)).to_have_text("Justificadocalculado: Ausente")
    await expect(diego).to_contain_text("Licencia médica presentada en secretaría")
    await expect(page.locator("#totals")).to_contain_text("Justificado1")
    assert class_data.override_audit(pg, course["today"], course["ids"]["18555444-K"]) == [
        (PROFESSOR.id, "ABSENT", "JUSTIFIED", "Licencia médica presentada en secretaría")]

    await page.get_by_role("button", name="Corregir el estado de Diego Díaz").click()
    history = dialog.locator("#override-history li")
    await expect(history).to_have_count(1)
    await expect(history).to_contain_text("Ausente → Justificado")
    await expect(history).to_contain_text("Profesora Demo Contreras, ")
    await expect(history).to_contain_text("Licencia médica presentada en secretaría")
    await save_screenshot(page, request.node.name, "desktop-override-dialog")
    await dialog.get_by_role("button", name="Cancelar").click()
    await expect(dialog).to_be_hidden()

    # The CSV: the whole list in the page's order, as Excel wants it, formula cells neutralised.
    name, body = await downloaded(page, "Descargar CSV")
    assert name == "asistencia_INF-239_2026-11-27_KXMPRT.csv"
    table = spreadsheet(body)
    assert table[0][:3] == ["rut", "full_name", "status"]
    assert [row[1] for row in table[1:]] == ["Ana Araya Rojas", STUDENTS["21000111-7"], "Bruno Bravo", "'=cmd()",
                                             "Diego Díaz"]
    diego_row = table[-1]
    assert diego_row[2:4] == ["JUSTIFIED", "ABSENT"]
    assert diego_row[table[0].index("override_note")] == "Licencia médica presentada en secretaría"
    # The filters go along: only the present students.
    await page.get_by_label("Estado", exact=True).select_option("PRESENT")
    _, body = await downloaded(page, "Descargar CSV")
    assert [row[0] for row in spreadsheet(body)[1:]] == ["12345678-5", "21000111-7"]

    # The legacy export: plain RFC 4180 for a program, no BOM.
    name, body = await downloaded(page, "Exportar para el sistema académico")
    assert name == "legacy_INF-239_KXMPRT.csv"
    assert not body.startswith(BOM)
    records = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert records[0] == ["session_code", "rut", "origin_ip", "certainty", "status"]
    assert ["KXMPRT", "18555444-K", "10.0.0.7", "", "JUSTIFIED"] in records

    has_fraud = any(route.resource is not None and route.resource.canonical == "/api/sessions/{id}/fraud"
                    for route in server.app.router.routes())
    if has_fraud:
        await expect(page.locator("#fraud")).to_contain_text("No hubo intentos rechazados en esta sesión.")
    else:
        await expect(page.locator("#fraud")).to_be_hidden()

    await summary_link.click()
    await expect(page.locator("#course-title")).to_have_text("Bases de Datos (INF-239)")


async def test_results_page_on_a_phone(open_page, server, course, request, problems):
    problems.allow(r"status of 404 .*/api/sessions/\d+/fraud\)$")
    page = await open_page(server, f"/asistencia/sessions/{course['today']}/results?as=profesor", **PHONE)
    await expect(rows_of(page)).to_have_count(5)
    long_name = rows_of(page).filter(has_text=STUDENTS["21000111-7"])
    await expect(long_name.locator("td").nth(1)).to_have_text("Presente")
    # Nothing sticks out of the screen sideways: long names wrap, rows become cards.
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
    await save_screenshot(page, request.node.name, "phone-list")


async def test_results_of_someone_elses_session_say_so(open_page, server, course, problems):
    problems.allow(r"status of 404 .*/api/sessions/\d+/attendance\)$")
    page = await open_page(server, f"/asistencia/sessions/{course['today']}/results?as=profesor&user_id=2002")
    await expect(page.get_by_role("alert")).to_contain_text(
        "No encontramos esta sesión de clase, o no es una de tus sesiones.")


def expected_rate(rut: str) -> tuple[int, int]:
    attended = sum(plan.get(rut) in ("PRESENT", "LATE", "JUSTIFIED") for _, _, _, plan in EARLIER)
    attended += TODAY[rut][0] in ("PRESENT", "LATE", "JUSTIFIED")
    return attended, len(EARLIER) + 1


async def test_course_summary_grid_chart_and_csv(open_page, server, course, request):
    page = await open_page(server, "/asistencia/courses/INF-239/summary?semester=2026-2&as=profesor", **DESKTOP)
    await expect(page.locator("#course-title")).to_have_text("Bases de Datos (INF-239)")
    await expect(page.locator("#course-held")).to_have_text("4 sesiones realizadas · 2026-2")
    await expect(page.locator("#course-active")).to_have_text("Sesiones en curso que aún no cuentan: 1.")
    await expect(page.get_by_label("Semestre")).to_have_value("2026-2")

    rows = page.locator("#grid-rows tr")
    await expect(rows).to_have_count(5)
    for rut, name in STUDENTS.items():
        attended, held = expected_rate(rut)
        row = rows.filter(has_text=name)
        await expect(row.locator("td.rate")).to_have_text(f"{round(100 * attended / held)}% ({attended} de {held})")
    # Bruno did not register in the third class; his today's status is LATE.
    bruno = rows.filter(has_text="Bruno Bravo").locator("td")
    await expect(bruno.nth(2)).to_have_text("—No se registró")
    await expect(bruno.nth(3)).to_have_text("ATAtrasado")
    await expect(page.locator("#grid-head th")).to_have_count(6)
    await expect(page.locator("#grid-head th").nth(4)).to_have_text("27 nov 10:00 · bloque 3-4")
    today_link = page.locator("#grid-head th").nth(4).get_by_role("link")
    await expect(today_link).to_have_attribute("href", f"/asistencia/sessions/{course['today']}/results")
    # Today: Ana, Bruno and María attended, of the five students in the grid.
    await expect(page.locator("#grid-foot td").nth(3)).to_have_text("60% (3 de 5)")

    bars = page.locator("#chart rect.bar")
    await expect(bars).to_have_count(4)
    heights = [float(await bar.get_attribute("height")) for bar in await bars.all()]
    assert heights[0] == pytest.approx(heights[3] * 4 / 3)  # 80 % and 60 %
    await expect(page.locator("#chart title")).to_contain_text("27 nov 2026: 60% (3 de 5)")
    await save_screenshot(page, request.node.name, "desktop-summary")

    name, body = await downloaded(page, "Descargar CSV")
    assert name == "resumen_INF-239_2026-2.csv"
    table = spreadsheet(body)
    assert table[0][:3] == ["rut", "full_name", "2026-11-06 1-2 [AAAAAA]"]
    assert table[0][-1] == "attendance_percent"
    by_rut = {row[0]: row for row in table[1:]}
    assert by_rut["20111222-3"][1] == "'=cmd()"
    assert by_rut["12345678-5"][-1] == "100,0"
    assert by_rut["19876543-2"][-1] == "50,0"
    assert by_rut["19876543-2"][2:6] == ["ABSENT", "LATE", "", "LATE"]

    # No semester: every semester, and the parameter left out rather than sent blank.
    await page.get_by_label("Semestre").fill("")
    await page.get_by_role("button", name="Ver").click()
    await expect(page.locator("#course-held")).to_have_text("4 sesiones realizadas · todos los semestres")
    assert "semester" not in page.url


async def test_course_summary_on_a_phone(open_page, server, course, request):
    page = await open_page(server, "/asistencia/courses/INF-239/summary?semester=2026-2&as=profesor", **PHONE)
    await expect(page.locator("#grid-rows tr")).to_have_count(5)
    await expect(page.locator("#chart rect.bar")).to_have_count(4)
    # The wide grid scrolls inside its own box; the page itself does not.
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
    await save_screenshot(page, request.node.name, "phone-summary")


async def test_a_course_without_sessions_in_the_semester_says_so(open_page, server, course, problems):
    problems.allow(r"status of 404 .*/api/courses/INF-239/summary\?semester=2025-1\)$")
    page = await open_page(server, "/asistencia/courses/INF-239/summary?semester=2025-1&as=profesor")
    await expect(page.get_by_role("alert")).to_contain_text(
        "No encontramos sesiones tuyas de este curso en el semestre elegido.")
