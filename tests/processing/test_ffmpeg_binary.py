"""Which ffmpeg runs: override, then PATH, then imageio-ffmpeg's."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import pytest

from service.errors import ConfigurationError
from service.processing.ffmpeg_binary import locate_ffmpeg


def test_an_override_that_does_not_exist_is_a_configuration_error_naming_the_setting(
    tmp_path: Path,
) -> None:
    # Given a path with nothing at it
    missing = tmp_path / "no-ffmpeg"
    # When / Then it is refused, and the message says which setting to fix
    with pytest.raises(ConfigurationError, match="VR_FFMPEG_PATH"):
        locate_ffmpeg(str(missing))


def test_an_override_that_is_not_executable_is_refused(tmp_path: Path) -> None:
    # Given a plain, non-executable file
    plain = tmp_path / "ffmpeg"
    plain.write_text("")
    # When / Then
    with pytest.raises(ConfigurationError, match="VR_FFMPEG_PATH"):
        locate_ffmpeg(str(plain))


def test_an_executable_override_wins() -> None:
    # Given an executable ffmpeg
    bundled = imageio_ffmpeg.get_ffmpeg_exe()
    # When it is the override / Then it is the one used
    assert locate_ffmpeg(bundled) == bundled


def test_a_system_ffmpeg_on_path_wins_over_the_bundled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an ffmpeg on PATH
    system = tmp_path / "ffmpeg"
    system.symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    monkeypatch.setenv("PATH", str(tmp_path))
    # When no override is given / Then PATH's is used
    assert locate_ffmpeg(None) == str(system)


def test_without_override_or_system_ffmpeg_the_bundled_one_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a PATH with no ffmpeg
    monkeypatch.setenv("PATH", str(tmp_path))
    # When / Then imageio-ffmpeg's binary is used
    assert locate_ffmpeg(None) == imageio_ffmpeg.get_ffmpeg_exe()
