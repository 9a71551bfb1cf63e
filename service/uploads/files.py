"""Free space where uploads go on the local disk: what the 507-before-reading check asks.
Blocks: call it in a thread."""

from __future__ import annotations

import shutil
from pathlib import Path


def free_bytes(directory: Path) -> int:
    """Free space where uploads go (creating the folder). Runs in a thread."""
    directory.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(directory).free
