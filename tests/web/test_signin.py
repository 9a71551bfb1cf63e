"""Signing in and out in a real browser: a plain message for a wrong password or the
login limit, the session cookie (script cannot read it), and sign-out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import Site, screenshot, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_person_signs_in_and_out_and_a_wrong_password_reads_as_words(
    page: Page, site: Site, tmp_path: Path
) -> None:
    # Given the page
    await page.goto(site.url + "/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await screenshot(page, "sign-in", tmp_path)

    # When alice types a wrong password, she reads why in words, not a code
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill("not her password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("That username and password do not match.")

    # When she signs in
    await sign_in(page, site)
    # Then she sees her (empty) jobs, and the session cookie is out of script's reach
    await expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()
    await expect(page.get_by_text("Signed in as alice")).to_be_visible()
    assert await page.evaluate("document.cookie") == ""
    (cookie,) = await page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # And a reload keeps her signed in
    await page.reload()
    await expect(page.get_by_text("Signed in as alice")).to_be_visible()

    # When she signs out, the sign-in form is back and the session is gone
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_the_login_limit_reads_as_words(page: Page, site: Site) -> None:
    # Given ten failed sign-ins for alice (VR_LOGIN_MAX_FAILURES, the default)
    await page.goto(site.url + "/")
    await page.get_by_label("Username").fill("alice")
    alert = page.get_by_role("alert")
    for _ in range(10):
        await page.get_by_label("Password").fill("wrong")
        await page.get_by_role("button", name="Sign in").click()
        await expect(alert).to_have_text("That username and password do not match.")
        await expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
        await page.evaluate("() => { document.getElementById('signin-error').textContent = '' }")
    # When she tries once more, the page says to wait, in words
    await page.get_by_label("Password").fill("wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(alert).to_have_text(
        re.compile(r"^Too many failed sign-ins\. Please wait \d+ minutes? and try again\.$")
    )
