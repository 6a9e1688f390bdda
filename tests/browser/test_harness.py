"""The browser harness itself: it must notice page errors and drive a virtual authenticator."""

from __future__ import annotations

import pytest

from tests.browser.harness import add_virtual_authenticator, save_screenshot

pytestmark = pytest.mark.browser


async def test_problems_collects_csp_violations_uncaught_errors_and_console_errors(page, problems):
    async with page.expect_event("pageerror"):  # the last of the three, CDP events come in order
        await page.evaluate("""() => {
            const inline = document.createElement("script");
            inline.textContent = "window.inlineRan = true";
            document.body.append(inline);
            console.error("something broke");
            setTimeout(() => { throw new Error("nobody caught me"); });
        }""")
    seen = "\n".join(problems.unexpected())
    assert await page.evaluate("window.inlineRan === undefined"), "the page CSP let an inline script run"
    assert "Content Security Policy" in seen
    assert "console error: something broke" in seen
    assert "uncaught error: nobody caught me" in seen
    problems.allow("Content Security Policy|something broke|nobody caught me")
    assert problems.unexpected() == []


async def test_virtual_authenticator_creates_a_passkey_and_can_be_removed(page, request):
    authenticator = await add_virtual_authenticator(page)
    create = """(timeout) => navigator.credentials.create({ publicKey: {
        rp: { id: "localhost", name: "Asistencia" },
        user: { id: new Uint8Array([1, 2, 3]), name: "alumno", displayName: "Alumno" },
        challenge: new Uint8Array(32),
        pubKeyCredParams: [{ type: "public-key", alg: -7 }],
        authenticatorSelection: { residentKey: "required", userVerification: "required" },
        timeout,
    }}).then((credential) => credential.id, (error) => error.name)"""
    credential_id = await page.evaluate(create, 10_000)
    stored = await authenticator.credentials()
    assert [c["credentialId"].rstrip("=").replace("+", "-").replace("/", "_") for c in stored] == [credential_id]
    assert stored[0]["isResidentCredential"] is True
    await save_screenshot(page, request.node.name, "home")
    await authenticator.remove()
    assert await page.evaluate(create, 1_000) == "NotAllowedError"
