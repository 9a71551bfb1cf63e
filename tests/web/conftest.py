"""A real `serve` in its own process and one headless Chromium for the whole session,
driven by Playwright's async API in the session's event loop.

Chromium is the system's (`chromium` on PATH, as the README's test command installs it);
these tests fail, never skip, when it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.accounts.support import PASSWORD, make_user
from tests.cli.test_commands import ROOT, cli_env, free_port
from tests.conftest import run_sync

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = ROOT / "docs" / "screenshots"
# A picture is taken once the images on screen have loaded (lazy ones below stay unloaded).
IMAGES_IN_VIEW_LOADED = (
    "() => [...document.images]"
    ".filter((i) => i.getBoundingClientRect().top < innerHeight)"
    ".every((i) => i.complete && i.naturalWidth > 0)"  # loaded, not broken
)


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("no chromium on PATH: the browser tests need it (apt-get install -y chromium)")
    return found


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path())
        yield launched
        await launched.close()


@dataclass(frozen=True)
class Site:
    url: str
    data_dir: Path
    database_url: str

    def at(self, path: str) -> str:
        return self.url + path


async def _add_users(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        await make_user(pool, "alice")
        await make_user(pool, "bob")
        await make_user(pool, "root", admin=True)
    finally:
        await pool.close()


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    """`video-refresher serve` (every role) on a fresh database with alice, bob and root (admin)."""
    run_sync(_add_users(database_url))
    port = free_port()
    data_dir = tmp_path / "data"
    log = (tmp_path / "serve.log").open("wb")
    env = cli_env(
        VR_DATABASE_URL=database_url,
        VR_DATA_DIR=str(data_dir),
        VR_PORT=str(port),
        VR_POLL_INTERVAL_S="0.05",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, tmp_path / "serve.log")
        yield Site(url, data_dir, database_url)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2):
                return  # 200: ready (503 raises)
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"serve did not become ready:\n{log.read_text()}")


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport=DESKTOP, accept_downloads=True)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A tab that fails the test on any script error or CSP violation it reports."""
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield tab
    assert problems == []


async def sign_in(page: Page, site: Site, name: str = "alice", password: str = PASSWORD) -> None:
    await page.goto(site.url + "/")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("button", name="Sign out").wait_for()


async def screenshot(page: Page, name: str, tmp_path: Path) -> list[Path]:
    """`<name>-desktop.png` (1440 x 900) and `<name>-phone.png` (390 x 844): into
    docs/screenshots/ when VR_SCREENSHOTS=1 (to refresh the committed ones), else tmp_path."""
    folder = SCREENSHOTS if os.environ.get("VR_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(100)  # let the layout settle at the new width
        await page.wait_for_function(IMAGES_IN_VIEW_LOADED)
        path = folder / f"{name}-{label}.png"
        await page.screenshot(path=str(path), full_page=False)
        shots.append(path)
    await page.set_viewport_size(DESKTOP)
    return shots
