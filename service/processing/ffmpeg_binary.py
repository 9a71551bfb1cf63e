"""Which ffmpeg binary to run: an explicit override, else the system's, else the bundled one."""

from __future__ import annotations

import logging
import shutil

import imageio_ffmpeg

from service.errors import ConfigurationError

log = logging.getLogger(__name__)


def locate_ffmpeg(override: str | None = None) -> str:
    """Return the ffmpeg to run; a system ffmpeg wins over imageio-ffmpeg's because it is
    the one an operator can upgrade. Touches the filesystem: call it once at start-up."""
    if override:
        found = shutil.which(override)  # a path or a bare name; checks it is executable
        if found is None:
            raise ConfigurationError(
                f"VR_FFMPEG_PATH: {override!r} is not an executable file", field="ffmpeg_path"
            )
        return _chosen(found, "override")
    system = shutil.which("ffmpeg")
    if system is not None:
        return _chosen(system, "system")
    try:
        bundled = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise ConfigurationError(
            f"no ffmpeg found: none on PATH and imageio-ffmpeg has none ({exc}); "
            "install ffmpeg or set VR_FFMPEG_PATH",
            field="ffmpeg_path",
        ) from None
    return _chosen(bundled, "imageio-ffmpeg")


def _chosen(path: str, source: str) -> str:
    log.info(
        "using ffmpeg %s (%s)",
        path,
        source,
        extra={"action": "ffmpeg.located", "path": path, "source": source},
    )
    return path
