"""Browser-test helpers: drop real files on the page's drop zone as a person would."""

from __future__ import annotations

import base64
from pathlib import Path

from playwright.async_api import Locator, Page, expect

_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".txt": "text/plain"}

_DROP = """
async ([selector, files]) => {
  const transfer = new DataTransfer();
  for (const [name, type, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    // a fixed modification time: the same file dropped again is the same file to tus
    transfer.items.add(new File([bytes], name, { type, lastModified: 1700000000000 }));
  }
  const zone = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}
"""


async def drop_files(page: Page, files: list[tuple[str, Path]], selector: str = "#drop") -> None:
    """Drop `files` (the name the browser shows, the bytes' source) on the drop zone."""
    payload = [
        [name, _TYPES.get(Path(name).suffix.lower(), "application/octet-stream"),
         base64.b64encode(path.read_bytes()).decode()]
        for name, path in files
    ]  # fmt: skip
    await page.evaluate(_DROP, [selector, payload])


async def api_job(site_url: str, user: str, videos: list[tuple[str, Path]], variations: int) -> str:
    """Make a job through the public API as `user` (multipart), as a script would; its id."""
    import aiohttp

    from tests.accounts.support import PASSWORD
    from tests.http.upload_support import field, multipart, video

    async with aiohttp.ClientSession(site_url) as http:
        login = await http.post("/api/auth/login", json={"username": user, "password": PASSWORD})
        token = (await login.json())["token"]
        body, content_type = multipart(
            *(video(name, path) for name, path in videos), field("variations", str(variations))
        )
        headers = {"Authorization": f"Bearer {token}", **content_type}
        created = await http.post("/api/jobs", data=body, headers=headers)
        assert created.status == 202, await created.text()
        return str((await created.json())["job_id"])


async def wait_for_status(site_url: str, user: str, job_id: str, wanted: set[str]) -> None:
    """Poll the API (the test, not the page) until the job reaches one of `wanted`."""
    import asyncio

    import aiohttp

    from tests.accounts.support import PASSWORD

    async with aiohttp.ClientSession(site_url) as http:
        login = await http.post("/api/auth/login", json={"username": user, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {(await login.json())['token']}"}
        for _ in range(1200):
            job = await (await http.get(f"/api/jobs/{job_id}", headers=headers)).json()
            if job["status"] in wanted:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {wanted}")


# Whether the focused element shows an outline a person can see.
_FOCUS_RING = """
() => {
  const style = getComputedStyle(document.activeElement);
  return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
}
"""


async def tab_to(page: Page, target: Locator, limit: int = 40) -> None:
    """Press Tab until `target` has the focus, which must show a visible outline there."""
    for _ in range(limit):
        if await target.evaluate("e => e === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    await expect(target).to_be_focused()
    assert await page.evaluate(_FOCUS_RING), "the focused element shows no outline"
