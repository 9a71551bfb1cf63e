"""Browser-test helpers: drop real files on the page's drop zone as a person would."""

from __future__ import annotations

import base64
from pathlib import Path

from playwright.async_api import Page

_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".txt": "text/plain"}

_DROP = """
async ([selector, files]) => {
  const transfer = new DataTransfer();
  for (const [name, type, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type }));
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
