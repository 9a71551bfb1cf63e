"""In a real browser: an admin sees every job with its owner and expires one; files the
service will not take are refused with the reason in words; the page fits a phone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.clips import TinyClips
from tests.web.conftest import PHONE, Site, sign_in
from tests.web.support import api_job, drop_files, wait_for_status

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_admin_sees_every_job_with_its_owner_and_expires_one(
    page: Page, site: Site, tiny_clips: TinyClips
) -> None:
    alices = await api_job(site.url, "alice", [("alice ad.mp4", tiny_clips.mp4)], 1)
    bobs = await api_job(site.url, "bob", [("bob ad.mp4", tiny_clips.mp4)], 1)
    for user, job_id in (("alice", alices), ("bob", bobs)):
        await wait_for_status(site.url, user, job_id, {"completed"})
    await sign_in(page, site, "root")
    await page.get_by_role("link", name="All jobs").click()
    await expect(page.get_by_role("heading", name="All jobs", level=1)).to_be_visible()
    alice_card = page.locator(f'li[data-job="{alices}"]')
    await expect(alice_card.get_by_text("Owner: alice")).to_be_visible()
    await expect(page.locator(f'li[data-job="{bobs}"]').get_by_text("Owner: bob")).to_be_visible()
    # When the admin expires alice's job, it shows as expired, and why
    await alice_card.get_by_role("button", name="Expire this job now").click()
    await expect(alice_card.locator(".badge")).to_have_text("expired")
    await expect(alice_card.get_by_text("expired (expired by an administrator)")).to_be_visible()


async def test_files_the_service_will_not_take_are_refused_in_words(
    page: Page, site: Site, tiny_clips: TinyClips
) -> None:
    await sign_in(page, site)
    # A text file is refused before upload; one named .mp4 that is not a video, by the service
    await drop_files(page, [("notes.txt", tiny_clips.text), ("fake.mp4", tiny_clips.text)])
    notes = page.locator(".files li").filter(has_text="notes.txt")
    await expect(notes.get_by_text("Not an MP4 or MOV video.")).to_be_visible()
    await page.get_by_role("button", name="Upload and create job").click()
    fake = page.locator(".files li").filter(has_text="fake.mp4")
    await expect(fake.get_by_text("Not an MP4 or MOV video.")).to_be_visible()
    await expect(page.get_by_role("alert").filter(has_text="fake.mp4")).to_have_text(
        re.compile("fake.mp4: Not an MP4 or MOV video.")
    )
    # and no job was created
    await expect(page.get_by_text("No jobs yet.")).to_be_visible()


async def test_the_pages_fit_a_phone_without_sideways_scrolling(
    page: Page, site: Site, tiny_clips: TinyClips
) -> None:
    job_id = await api_job(
        site.url, "alice", [("a very long name " * 6 + ".mp4", tiny_clips.mp4)], 2
    )
    await wait_for_status(site.url, "alice", job_id, {"completed"})
    await page.set_viewport_size(PHONE)
    await page.goto(site.url + "/")
    fits = "() => document.documentElement.scrollWidth <= window.innerWidth"
    assert await page.evaluate(fits)
    await sign_in(page, site)
    await expect(page.locator(f'li[data-job="{job_id}"]')).to_be_visible()
    assert await page.evaluate(fits)
    await page.goto(f"{site.url}/#/jobs/{job_id}")
    await expect(page.locator(".variation")).to_have_count(2)
    assert await page.evaluate(fits)


async def test_a_file_that_failed_to_render_is_named_with_its_reason(
    page: Page, site: Site, tiny_clips: TinyClips
) -> None:
    job_id = await api_job(
        site.url, "alice", [("good.mp4", tiny_clips.mp4), ("broken.mp4", tiny_clips.corrupt)], 1
    )
    await wait_for_status(site.url, "alice", job_id, {"partial"})
    await sign_in(page, site)
    card = page.locator(f'li[data-job="{job_id}"]')
    await expect(card.locator(".badge")).to_have_text("partly done")
    await expect(card.get_by_text("1 of 2 rendered")).to_be_visible()
    failure = card.locator(".failures li")
    await expect(failure).to_have_count(1)
    await expect(failure).to_have_text(re.compile(r"^broken\.mp4: \S"))
