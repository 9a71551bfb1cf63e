"""The page catches up after the network went away (a laptop that slept): what happened
meanwhile shows without a reload and without polling. Chromium's offline emulation keeps
the open stream, so the catch-up here is the page's one re-read when the network comes
back; a stream the network really cut is resumed by EventSource with `Last-Event-ID`
(checked below whenever a reconnect happens; the service side of resumption is issue 10's
tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, Request, expect

from tests.clips import TinyClips
from tests.web.conftest import Site, sign_in
from tests.web.support import api_job, wait_for_status

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_after_the_network_comes_back_the_page_shows_what_happened_meanwhile(
    page: Page, site: Site, tiny_clips: TinyClips, tmp_path: Path
) -> None:
    streams: list[Request] = []
    page.on("request", lambda r: streams.append(r) if r.url.endswith("/api/live") else None)
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/jobs" in r.url else None)
    await sign_in(page, site)
    await expect(page.get_by_text("No jobs yet.")).to_be_visible()
    assert len(streams) == 1 and "last-event-id" not in streams[0].headers

    # Given the page's stream has seen a job finish
    first = await api_job(site.url, "alice", [("first.mp4", tiny_clips.mp4)], 1)
    await expect(page.locator(f'li[data-job="{first}"]').locator(".badge")).to_have_text("done")

    # When the network goes away, a job is made and finished meanwhile, then it comes back
    await page.context.set_offline(True)
    second = await api_job(site.url, "alice", [("second.mp4", tiny_clips.mp4)], 1)
    await wait_for_status(site.url, "alice", second, {"completed"})
    await page.context.set_offline(False)

    # Then the page shows the second job, done, without a reload
    card = page.locator(f'li[data-job="{second}"]')
    await expect(card.locator(".badge")).to_have_text("done", timeout=30_000)
    # and whenever the browser reconnected the one stream, it resumed from the last event
    for resumed in streams[1:]:
        assert int(resumed.headers["last-event-id"]) > 0
    # and nothing polled: the list was read at sign-in and once when the network came back
    assert sum(u.endswith("/api/jobs?limit=50") for u in api_calls) <= 1 + len(streams)
