"""The page catches up after the network went away (a laptop that slept): what happened
meanwhile shows without a reload, once, and without polling. A real drop (a proxy between
Chromium and `serve` cuts every connection) is resumed by the page's one EventSource
from `Last-Event-ID`; Chromium's offline emulation keeps the open stream, and there the
catch-up is the page's one re-read when the network comes back."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Request, expect

from tests.clips import TinyClips
from tests.web.conftest import Site, sign_in
from tests.web.proxy import Connection, CuttableProxy
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


LIVE_REQUEST = re.compile(rb"GET /api/live HTTP/1\.1\r\n(.*?)\r\n\r\n", re.DOTALL)
LAST_EVENT_ID = re.compile(rb"^last-event-id: *(\d+)\r?$", re.IGNORECASE | re.MULTILINE)
MESSAGE_ID = re.compile(rb"^id: *(\d+)\r?$", re.MULTILINE)


def live_streams(connections: list[Connection]) -> list[Connection]:
    return [c for c in connections if LIVE_REQUEST.search(c.sent)]


def resumed_from(stream: Connection) -> int | None:
    """The `Last-Event-ID` the server received when the stream was opened, if any."""
    headers = LIVE_REQUEST.findall(stream.sent)[-1]
    found = LAST_EVENT_ID.search(headers)
    return int(found.group(1)) if found else None


def delivered_ids(stream: Connection) -> list[int]:
    """The `id:`s of the whole messages the browser was given (a message ends with a blank
    line; a torn last one was never dispatched)."""
    text = bytes(stream.received).replace(b"\r\n", b"\n")
    whole = text[: text.rfind(b"\n\n") + 2]
    return [int(n) for n in MESSAGE_ID.findall(whole)]


async def test_after_a_real_drop_the_stream_resumes_from_the_last_event_it_delivered(
    page: Page, site: Site, tiny_clips: TinyClips
) -> None:
    async with CuttableProxy(urlsplit(site.url).port or 80) as proxy:
        # Given alice's page, through the proxy, has seen a job finish on its stream
        await sign_in(page, dataclasses.replace(site, url=proxy.url))
        first = await api_job(site.url, "alice", [("first.mp4", tiny_clips.mp4)], 1)
        cards = page.locator("li.job")
        await expect(cards.locator(".badge")).to_have_text(["done"], timeout=30_000)

        # When every connection is cut mid-stream, and held while a second job is made
        # and rendered
        await proxy.cut()
        before = list(proxy.connections)
        (stream,) = live_streams(before)
        seen = delivered_ids(stream)
        second = await api_job(site.url, "alice", [("second.mp4", tiny_clips.mp4)], 1)
        await wait_for_status(site.url, "alice", second, {"completed"})
        await expect(cards).to_have_count(1)  # the page could not know yet
        proxy.restore()

        # Then the page shows the second job, done, once, beside the first, without a reload
        card = page.locator(f'li[data-job="{second}"]')
        await expect(card.locator(".badge")).to_have_text("done", timeout=30_000)
        await expect(card.get_by_text("1 of 1 rendered")).to_be_visible()
        await expect(cards).to_have_count(2)
        assert await page.locator(f'li[data-job="{first}"]').count() == 1
        # And the server was asked to resume after the last event the page had been given
        (resumed,) = live_streams(proxy.connections[len(before) :])
        assert seen and resumed_from(resumed) == seen[-1]
        # so it sent only what came after: no snapshot again, no event twice
        again = delivered_ids(resumed)
        assert b"event: snapshot" not in resumed.received
        assert again and min(again) > seen[-1] and len(set(again)) == len(again)
