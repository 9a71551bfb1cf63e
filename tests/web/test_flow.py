"""The whole day of a person, in a real browser against a real `serve`: sign in, drop two
videos, watch the job complete live (no reload; the tab title shows progress), get a
notification (asked for after a click), cancel a second job mid-render, sign out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.clips import TinyClips
from tests.web.conftest import Site, screenshot, sign_in
from tests.web.support import drop_files

pytestmark = pytest.mark.asyncio(loop_scope="session")

VARIATIONS = re.compile("^Variations per video")

# Records the notifications the page raises (the browser's own are not observable here).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  class Recording extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notifications.push({ title, body: options && options.body });
    }
  }
  Recording.requestPermission = (...args) => Real.requestPermission(...args);
  Object.defineProperty(Recording, "permission", { get: () => Real.permission });
  window.Notification = Recording;
})();
"""


async def test_a_person_uploads_watches_live_is_notified_cancels_and_signs_out(
    page: Page, site: Site, tiny_clips: TinyClips, long_clip: Path, tmp_path: Path
) -> None:
    await page.context.grant_permissions(["notifications"], origin=site.url)
    await page.add_init_script(RECORD_NOTIFICATIONS)
    await sign_in(page, site)

    # Given alice asked to be notified (the permission prompt comes only after her click)
    notify = page.get_by_label("Show a browser notification when a job finishes")
    await notify.check()
    await expect(notify).to_be_checked()

    tus: list[str] = []
    page.on("request", lambda r: tus.append(r.method) if "/api/uploads" in r.url else None)

    # When she drops two videos and asks for 2 variations of each
    await drop_files(page, [("summer.mp4", tiny_clips.mp4), ("winter.mov", tiny_clips.mov)])
    await expect(page.get_by_label("Upload progress of summer.mp4")).to_be_visible()
    await page.get_by_label(VARIATIONS).fill("2")
    await page.get_by_role("button", name="Upload and create job").click()

    # Then the job appears and reaches "done" with every variation, without a reload
    card = page.locator("li.job").filter(has_text="summer.mp4, winter.mov")
    await expect(card.get_by_text("4 of 4 rendered")).to_be_visible(timeout=60_000)
    await expect(card.locator(".badge")).to_have_text("done")
    await expect(card.locator("progress")).to_have_attribute("value", "100")
    # and the files went by tus (a creation and at least one PATCH each)
    assert tus.count("POST") == 2 and tus.count("PATCH") >= 2
    # and the finished job raised one notification
    notes = await page.evaluate("() => window.__notifications")
    assert notes == [{"title": "Job done", "body": "summer.mp4, winter.mov"}]

    # When she starts a longer job, it shows as rendering, with progress in the tab title
    await drop_files(page, [("long take.mp4", long_clip)])
    await page.get_by_label(VARIATIONS).fill("5")
    await page.get_by_role("button", name="Upload and create job").click()
    long_card = page.locator("li.job").filter(has_text="long take.mp4")
    await expect(long_card.locator(".badge")).to_have_text("rendering", timeout=30_000)
    await expect(page).to_have_title(re.compile(r"^\([1-9]\d*%\) Your jobs"), timeout=30_000)
    await screenshot(page, "jobs-in-progress", tmp_path)

    # And cancels it mid-render: it ends cancelled, live
    await long_card.get_by_role("button", name="Cancel job long take.mp4").click()
    await expect(long_card.locator(".badge")).to_have_text("cancelled", timeout=30_000)
    await expect(page).to_have_title("Your jobs · Video Refresher")

    # When she signs out, the page is back at sign-in and the stream is closed
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
