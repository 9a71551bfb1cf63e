"""The user's file name is data, never a path."""

from __future__ import annotations

from service.uploads.intake import display_name


def test_names_keep_only_their_last_component_without_control_characters() -> None:
    assert display_name("../../etc/passwd", 1) == "passwd"
    assert display_name("C:\\Users\\me\\ad.mp4", 1) == "ad.mp4"
    assert display_name("a\x00b\nc.mov", 1) == "abc.mov"
    assert display_name("x" * 300, 1) == "x" * 255


def test_a_missing_name_gets_a_numbered_one() -> None:
    assert display_name(None, 2) == "video-2"
    assert display_name("../", 3) == "video-3"
