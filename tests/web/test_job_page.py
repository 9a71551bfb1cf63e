"""A job's page in a real browser: thumbnails with effect values, a variation played in
the page (it advances and seeks), one variation downloaded alone, the ZIP by its signed
link; a user's file name shown as text, never as HTML."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.clips import TinyClips
from tests.web.conftest import Site, screenshot, sign_in
from tests.web.support import api_job, wait_for_status

pytestmark = pytest.mark.asyncio(loop_scope="session")

XSS = "<img src=x onerror=alert(1)>.mp4"


async def test_a_person_previews_plays_and_downloads_a_jobs_variations(
    page: Page, site: Site, tiny_clips: TinyClips, tmp_path: Path
) -> None:
    # Given a finished job of two videos, one with an HTML-shaped name
    job_id = await api_job(
        site.url, "alice", [("summer ad.mp4", tiny_clips.mp4), (XSS, tiny_clips.mov)], 2
    )
    await wait_for_status(site.url, "alice", job_id, {"completed"})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    # When alice opens it from her list
    await sign_in(page, site)
    card = page.locator(f'li[data-job="{job_id}"]')
    await expect(card.get_by_text("4 of 4 rendered")).to_be_visible()
    await expect(card.get_by_text("expires in 24 h")).to_be_visible()
    await expect(card.get_by_alt_text("First frame of summer ad.mp4")).to_be_visible()
    await card.get_by_role("link").click()

    # Then the name that looks like HTML is shown as text, and no such element exists
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"summer ad.mp4, {XSS}")
    assert await page.locator("img[src='x']").count() == 0
    # And every variation has a thumbnail that loaded, with its effect values
    thumbnails = page.locator(".variation img")
    await expect(thumbnails).to_have_count(4)
    for i in range(4):  # lazily loaded: each once it is scrolled into view
        await thumbnails.nth(i).scroll_into_view_if_needed()
        await expect(thumbnails.nth(i)).to_have_js_property("naturalWidth", 320)
    await page.evaluate("() => window.scrollTo(0, 0)")
    await expect(page.locator(".variation dt").first).to_have_text("Rotation")
    await screenshot(page, "job-variations", tmp_path)

    # When she plays variation 2 of the first video, it plays in the page and seeks
    await page.get_by_role("button", name="Play summer ad.mp4, variation 2").click()
    video = page.locator("video")
    await expect(video).to_be_visible()
    await page.wait_for_function("() => document.querySelector('video').currentTime > 0.2")
    seeked = await video.evaluate(
        """v => new Promise(done => {
            v.pause();
            v.addEventListener('seeked', () => done(v.currentTime), { once: true });
            v.currentTime = 0.5;
        })"""
    )
    assert seeked == pytest.approx(0.5, abs=0.15)

    # And one variation downloads alone, under its ZIP name
    async with page.expect_download() as single:
        await page.get_by_role("link", name="Download summer ad.mp4, variation 1").click()
    download = await single.value
    assert download.suggested_filename == "summer ad_var01.mp4"

    # And the whole job downloads as one ZIP through a signed link
    async with page.expect_download() as whole:
        await page.get_by_role("button", name="Download all variations as one ZIP").click()
    saved = tmp_path / "job.zip"
    await (await whole.value).save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
    assert len(names) == 4 and names[:2] == [
        "summer ad/summer ad_var01.mp4",
        "summer ad/summer ad_var02.mp4",
    ]
    assert dialogs == []  # no script ran from a name
