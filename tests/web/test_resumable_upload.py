"""Resumable uploads from the page (tus-js-client against the service's /api/uploads): a
connection cut mid-file resumes where it stopped, and the same file picked again after a
reload continues the same upload; either way the job completes."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, Request, Route, expect

from tests.web.conftest import Site, sign_in
from tests.web.support import drop_files

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHUNK = 64 * 1024  # the long clip (~220 KB) goes in four PATCHes
VARIATIONS = re.compile("^Variations per video")


async def small_chunks(page: Page, site: Site) -> None:
    await sign_in(page, site)
    await page.evaluate(f"() => localStorage.setItem('vr-upload-chunk-bytes', '{CHUNK}')")
    await page.reload()
    await expect(page.get_by_text("Signed in as alice")).to_be_visible()


def tus_log(page: Page) -> list[tuple[str, str | None]]:
    """(method, Upload-Offset) of every request to /api/uploads, in order."""
    seen: list[tuple[str, str | None]] = []

    def record(request: Request) -> None:
        if "/api/uploads" in request.url and request.method in ("POST", "PATCH", "HEAD"):
            seen.append((request.method, request.headers.get("upload-offset")))

    page.on("request", record)
    return seen


async def test_an_upload_cut_mid_file_resumes_where_it_stopped_and_the_job_completes(
    page: Page, site: Site, long_clip: Path
) -> None:
    await small_chunks(page, site)
    seen = tus_log(page)
    patches = 0

    async def cut_the_second_patch(route: Route) -> None:
        nonlocal patches
        if route.request.method == "PATCH":
            patches += 1
            if patches == 2:
                await route.abort("connectionreset")  # the connection drops mid-file
                return
        await route.continue_()

    await page.route("**/api/uploads/*", cut_the_second_patch)
    # When alice uploads a video and the connection drops after its first 64 KiB
    await drop_files(page, [("take.mp4", long_clip)])
    await page.get_by_label(VARIATIONS).fill("1")
    await page.get_by_role("button", name="Upload and create job").click()
    # Then the upload resumes from the offset the service reports, and the job completes
    card = page.locator("li.job").filter(has_text="take.mp4")
    await expect(card.get_by_text("1 of 1 rendered")).to_be_visible(timeout=60_000)
    methods = [m for m, _ in seen]
    assert methods.count("POST") == 1  # one upload, never started over
    offsets = [int(o) for m, o in seen if m == "PATCH" and o is not None]
    # the second chunk was cut; after asking the offset (HEAD) it is sent again, then the rest
    assert offsets[:3] == [0, CHUNK, CHUNK] and "HEAD" in methods
    assert offsets[3:] == [2 * CHUNK, 3 * CHUNK]


async def test_picking_the_same_file_after_a_reload_continues_the_same_upload(
    page: Page, site: Site, long_clip: Path
) -> None:
    await small_chunks(page, site)
    seen = tus_log(page)
    third = asyncio.Event()
    patches = 0

    async def stall_the_third_patch(route: Route) -> None:
        nonlocal patches
        if route.request.method == "PATCH":
            patches += 1
            if patches == 3:
                third.set()
                await route.abort("connectionreset")  # (the reload takes the page away)
                return
        await route.continue_()

    await page.route("**/api/uploads/*", stall_the_third_patch)
    await drop_files(page, [("take.mp4", long_clip)])
    await page.get_by_role("button", name="Upload and create job").click()
    await asyncio.wait_for(third.wait(), 30)
    # When the page is reloaded mid-upload and alice picks the same file again
    await page.unroute("**/api/uploads/*")
    await page.reload()
    await expect(page.get_by_text("Signed in as alice")).to_be_visible()
    before = len(seen)
    await drop_files(page, [("take.mp4", long_clip)])
    await page.get_by_label(VARIATIONS).fill("1")
    await page.get_by_role("button", name="Upload and create job").click()
    # Then the same upload continues from the stored offset, and the job completes
    card = page.locator("li.job").filter(has_text="take.mp4")
    await expect(card.get_by_text("1 of 1 rendered")).to_be_visible(timeout=60_000)
    after = seen[before:]
    assert [m for m, _ in seen].count("POST") == 1
    first_patch = next(int(o) for m, o in after if m == "PATCH" and o is not None)
    assert first_patch >= 2 * CHUNK
