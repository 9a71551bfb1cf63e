"""The data volume the chaos services share, and the nemesis's way of filling it.

Preferred: a size-limited tmpfs mounted for the run (needs CAP_SYS_ADMIN, as root in a
container usually has), so "full" is a real ENOSPC for every writer — intake, tus,
renders, thumbnails — and the expiry scheduler sees real pressure. Where mounting is
refused, a folder on the ordinary disk plus the reserve setting: the services run with
`VR_UPLOAD_RESERVE_BYTES` set 1 GiB below the free space at start, and filling
allocates a 2 GiB file, so uploads are refused (507) while it exists; nothing else on
the machine runs short.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

FILLER = "chaos-filler"  # outside uploads/ and outputs/: the log never names it
# Reserve mode: the reserve sits this far below the free space at start, so other work
# on the machine may use that much meanwhile; the filler is twice as large, so it always
# crosses the reserve. fallocate makes it without writing a byte.
RESERVE_MARGIN_BYTES = 2**30
RESERVE_FILL_BYTES = 2 * RESERVE_MARGIN_BYTES


@dataclass
class DataVolume:
    """Where `VR_DATA_DIR` points, and how to make it full."""

    path: Path
    mounted: bool
    reserve_bytes: int = 0  # the VR_UPLOAD_RESERVE_BYTES the services get (reserve mode)

    @property
    def mode(self) -> str:
        if self.mounted:
            return f"tmpfs of {shutil.disk_usage(self.path).total // 2**20} MiB"
        return (
            f"reserve setting (VR_UPLOAD_RESERVE_BYTES, {RESERVE_FILL_BYTES // 2**30} GiB filler)"
        )

    def fill(self) -> int:
        """Take every free byte (tmpfs) or enough to cross the reserve; the bytes taken."""
        filler = self.path / FILLER
        size = shutil.disk_usage(self.path).free if self.mounted else RESERVE_FILL_BYTES
        # tmpfs allocates what fallocate asks, or ENOSPC: take all but the last pages.
        with open(filler, "wb") as file, contextlib.suppress(OSError):
            os.posix_fallocate(file.fileno(), 0, max(size - 64 * 1024, 4096))
        return filler.stat().st_size if filler.exists() else 0

    def free(self) -> None:
        (self.path / FILLER).unlink(missing_ok=True)

    def env(self) -> dict[str, str]:
        return {"VR_UPLOAD_RESERVE_BYTES": str(self.reserve_bytes)} if self.reserve_bytes else {}


def open_volume(path: Path, size_mib: int, *, mount: bool = True) -> DataVolume:
    """Mount a tmpfs of `size_mib` at `path` if allowed (and `mount`), else use `path`
    with a reserve."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        if not mount:
            raise OSError("not asked to mount")
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0755", "tmpfs", str(path)],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
    except OSError:  # no mount(8) here
        mounted = False
    if mounted:
        return DataVolume(path, mounted=True)
    free = shutil.disk_usage(path).free
    return DataVolume(path, mounted=False, reserve_bytes=max(free - RESERVE_MARGIN_BYTES, 1))


def close_volume(volume: DataVolume) -> None:
    """Unmount the tmpfs (its contents go with it); a plain folder is left to the caller."""
    volume.free()
    if volume.mounted:
        subprocess.run(["umount", "-l", str(volume.path)], capture_output=True, check=False)
