"""static/js/lib/i18n.js in Chromium: the server's catalog (built into the scripts), formatted like Python's str.format."""

from __future__ import annotations

import pytest

from asistencia.i18n import load_catalog
from tests.browser.harness import call_module

pytestmark = pytest.mark.browser

TEMPLATES = {
    "plain": "Sin parámetros",
    "one": "Hola, {name}.",
    "two": "Ronda {round} de {rounds}",
    "braces": "{{literal}} y {value}",
    "twice": "{x}-{x}",
}
FORMATTED = [("one", {"name": "Ñandú"}), ("two", {"round": 2, "rounds": 3}),
             ("braces", {"value": "v"}), ("twice", {"x": 0})]


async def test_t_reads_the_catalog_the_server_uses(page):
    catalog = load_catalog("es-CL")
    texts = await call_module(page, "i18n.js", "(i18n, keys) => keys.map((key) => i18n.t(key))",
                              list(catalog.messages))
    assert texts == list(catalog.messages.values())
    assert await call_module(page, "i18n.js", """(i18n) => [
        i18n.t("error.generic", { code: "SESSION_CLOSED" }), i18n.t("no.such.key"), i18n.t("no.such.key", { a: 1 })]""") \
        == [catalog("error.generic", code="SESSION_CLOSED"), "no.such.key", "no.such.key"]


async def test_placeholders_follow_python_str_format(page):
    texts = await call_module(page, "i18n.js", """(i18n, [templates, cases]) => ({
        formatted: cases.map(([key, params]) => i18n.translate(templates, key, params)),
        withoutParams: i18n.translate(templates, "braces"),
        missingParam: i18n.translate(templates, "two", { round: 1 }),
    })""", [TEMPLATES, FORMATTED])
    assert texts["formatted"] == [TEMPLATES[key].format(**params) for key, params in FORMATTED]
    assert texts["withoutParams"] == "{{literal}} y {value}"  # as the server's Catalog: no params, no formatting
    assert texts["missingParam"] == "Ronda 1 de {rounds}"
