"""axe-core (from npm, installed by scripts/build-static) on every page: no serious or critical violation.

The states a page reaches only in a flow (a projector offline, a scanner reading codes) are
checked where the flow's own test reaches them, with `serious_violations` (their contexts
bypass the CSP, as here)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from asistencia.config import PROJECT_ROOT
from tests.browser.test_page_budget import PHONE, new_session, page_urls

pytestmark = pytest.mark.browser

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
STUDENT_PAGES = ("home", "device", "scan")


@pytest.mark.parametrize("name", ["home", "device", "scan", "sessions", "projector", "dashboard", "results",
                                  "summary", "offline"])
async def test_no_serious_accessibility_violation(server, open_page, name):
    assert AXE.is_file(), "axe-core is missing: run scripts/build-static (it installs the npm tools)"
    session = await new_session(server)
    url = {**page_urls(session), "offline": "/asistencia/offline"}[name]
    # axe is injected as an inline script, which the page's CSP forbids: this context bypasses it.
    page = await open_page(server, None, bypass_csp=True, **(PHONE if name in STUDENT_PAGES else DESKTOP))
    await page.goto(url)
    if name != "offline":
        await expect(page.locator("#whoami")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    assert await serious_violations(page) == []


async def serious_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (its context must bypass the CSP)."""
    assert AXE.is_file(), "axe-core is missing: run scripts/build-static (it installs the npm tools)"
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    return await page.evaluate("""async () => {
        const { violations } = await axe.run(document);
        return violations.filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
    }""")
