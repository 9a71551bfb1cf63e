"""MP4 or MOV by the first bytes, whatever the file is called."""

from __future__ import annotations

import pytest

from service.uploads.sniff import container_extension
from tests.clips import TinyClips
from tests.http.upload_support import FTYP_MOV, FTYP_MP4


def test_real_clips_are_recognised_by_content(tiny_clips: TinyClips) -> None:
    assert container_extension(tiny_clips.mp4.read_bytes()[:12]) == ".mp4"
    assert container_extension(tiny_clips.mov.read_bytes()[:12]) == ".mov"


def test_the_quicktime_brand_means_mov_and_any_other_brand_mp4() -> None:
    assert container_extension(FTYP_MOV) == ".mov"
    assert container_extension(FTYP_MP4) == ".mp4"


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"ftyp",
        b"this is not a video",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"\x00\x00\x00\x04ftypisom",
    ],
)
def test_anything_without_a_leading_ftyp_box_is_refused(head: bytes) -> None:
    assert container_extension(head) is None
