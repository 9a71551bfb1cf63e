"""axe-core (vendored for the tests) finds no serious or critical violation on the
sign-in page, the jobs list and a job's page, and the page works by keyboard alone, from
signing in through uploading to playing a variation, with a visible focus outline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.accounts.support import PASSWORD
from tests.clips import TinyClips
from tests.web.conftest import Site, sign_in
from tests.web.support import api_job, tab_to, wait_for_status

pytestmark = pytest.mark.asyncio(loop_scope="session")

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations of impact serious or critical on the page as it stands."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE)  # evaluated by the test's driver, not by the page
    result = await page.evaluate("async () => await window.axe.run(document)")
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_sign_in_jobs_and_a_jobs_page_have_no_serious_violations(
    page: Page, site: Site, tiny_clips: TinyClips
) -> None:
    job_id = await api_job(site.url, "alice", [("ad.mp4", tiny_clips.mp4)], 1)
    await wait_for_status(site.url, "alice", job_id, {"completed"})
    await page.goto(site.url + "/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await serious_violations(page) == []

    await sign_in(page, site)
    await expect(page.locator(f'li[data-job="{job_id}"]')).to_be_visible()
    assert await serious_violations(page) == []

    await page.goto(f"{site.url}/#/jobs/{job_id}")
    await expect(page.locator(".variation img")).to_have_count(1)
    assert await serious_violations(page) == []


async def test_a_person_signs_in_uploads_and_plays_a_variation_by_keyboard_alone(
    page: Page, site: Site, tiny_clips: TinyClips
) -> None:
    # File choosers are intercepted from the start (turning that on is asynchronous, and a
    # dialog opened before it is on is never reported)
    page.on("filechooser", lambda _: None)
    await page.goto(site.url + "/")
    # The username field has focus; type, Tab to the password, Enter submits
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type("alice")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Signed in as alice")).to_be_visible()

    # Tab reaches "Choose videos"; Enter opens the file picker
    await tab_to(page, page.get_by_role("button", name="Choose videos"))
    async with page.expect_file_chooser() as chooser:
        await page.keyboard.press("Enter")
    await (await chooser.value).set_files(
        {"name": "ad.mp4", "mimeType": "video/mp4", "buffer": tiny_clips.mp4.read_bytes()}
    )
    await expect(page.get_by_label("Upload progress of ad.mp4")).to_be_visible()
    # The variations field takes the arrow keys; Tab reaches the start button, Space starts
    variations = page.get_by_label(re.compile("^Variations per video"))
    await tab_to(page, variations)
    for _ in range(3):
        await page.keyboard.press("ArrowDown")
    await expect(variations).to_have_value("2")
    await tab_to(page, page.get_by_role("button", name="Upload and create job"))
    await page.keyboard.press("Space")
    card = page.locator("li.job").filter(has_text="ad.mp4")
    await expect(card.locator(".badge")).to_have_text("done", timeout=60_000)
    await expect(card.get_by_text("2 of 2 rendered")).to_be_visible()

    # Tab reaches the job's link; Enter opens it; Tab reaches a play button; Enter plays
    await tab_to(page, card.locator("h3 a"))
    await page.keyboard.press("Enter")
    await tab_to(page, page.get_by_role("button", name="Play ad.mp4, variation 2"))
    await page.keyboard.press("Enter")
    await expect(page.locator("video")).to_be_visible()
