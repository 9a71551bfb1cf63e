"""The planned archive is zipstream-ng's own stream, byte for byte, and any range of it
can be produced without reading the files before the range."""

from __future__ import annotations

import io
import os
import random
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from zipstream import ZipStream

from service.download.archive import (
    ArchiveEntry,
    Body,
    Literal,
    build_plan,
    check_sources,
    iter_range,
)
from service.errors import ArchiveSourceChanged
from tests.download.builders import MODIFIED_AT, library_stream, plan_bytes, write_entry

pytestmark = pytest.mark.usefixtures("utc_local_time")


@pytest.fixture
def entries(tmp_path) -> list[ArchiveEntry]:
    """Four outputs: ordinary, empty, non-ASCII named, and bigger than the library's
    64 KiB read buffer."""
    rng = random.Random(7)
    return [
        write_entry(tmp_path, "ad/ad_var01.mp4", rng.randbytes(3000)),
        write_entry(tmp_path, "ad/ad_var02.mp4", b""),
        write_entry(tmp_path, "café ☕/café ☕_var01.mp4", rng.randbytes(1)),
        write_entry(tmp_path, "clip (2)/clip (2)_var01.mp4", rng.randbytes(70_001)),
    ]


def boundaries(plan) -> list[int]:
    """Every segment start (header, body, descriptor, central directory), its neighbours,
    every segment's middle, and the archive's last byte."""
    points = {plan.size - 1}
    for segment in plan.segments:
        points |= {segment.offset - 1, segment.offset, segment.offset + 1}
        points.add(segment.offset + segment.length // 2)
    return sorted(p for p in points if 0 <= p < plan.size)


def test_plan_is_byte_identical_to_zipstream_ngs_own_sized_stream(entries):
    # Given the same files, names and timestamps
    library = library_stream(entries)
    expected_size = len(library)

    # When the plan is built from recorded sizes and CRCs and streamed
    plan = build_plan(entries)
    produced = plan_bytes(plan)

    # Then it has the library's length and every one of its bytes
    assert plan.size == len(plan) == expected_size
    assert produced == bytes(library)


def test_every_suffix_range_equals_the_same_slice_of_the_library_stream(entries):
    # Given the library's full stream
    full = bytes(library_stream(entries))
    plan = build_plan(entries)

    # When a range starts at any boundary or inside any segment
    # Then it equals the library's bytes from there on, whatever the chunk size
    for start in boundaries(plan):
        assert plan_bytes(plan, start) == full[start:], start
        assert plan_bytes(plan, start, chunk_size=1000) == full[start:], start


def test_bounded_ranges_equal_the_same_slice_of_the_library_stream(entries):
    # Given the library's full stream
    full = bytes(library_stream(entries))
    plan = build_plan(entries)
    points = [*boundaries(plan), plan.size]
    rng = random.Random(11)

    # When ranges start and end at boundaries and at random places
    spans = [(a, b) for a in points[::3] for b in points if b >= a]
    spans += [tuple(sorted(rng.sample(range(plan.size + 1), 2))) for _ in range(200)]

    # Then each equals the library's slice, and no chunk exceeds the chunk size
    for start, end in spans:
        chunks = list(iter_range(plan, start, end, chunk_size=512))
        assert b"".join(chunks) == full[start:end], (start, end)
        assert all(0 < len(chunk) <= 512 for chunk in chunks)


def test_zipfile_reads_every_entry_stored_with_its_content_and_name_flags(entries):
    # Given the planned archive
    data = plan_bytes(build_plan(entries))

    # When Python's zipfile reads it
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()

        # Then every entry is intact, stored, named as planned, with its file's content
        assert archive.testzip() is None
        assert [info.filename for info in infos] == [entry.name for entry in entries]
        for info, entry in zip(infos, entries, strict=True):
            assert info.compress_type == zipfile.ZIP_STORED
            assert archive.read(info) == entry.path.read_bytes()
            assert entry.crc32 == info.CRC
            assert info.date_time == (2024, 5, 6, 7, 8, 10)
            assert bool(info.flag_bits & 0x800) == (not entry.name.isascii())


def test_a_range_starting_in_the_third_entry_never_opens_the_first_two_files(entries):
    # Given a plan and the library's bytes, after which the first two files vanish
    full = bytes(library_stream(entries))
    plan = build_plan(entries)
    third_header = [s for s in plan.segments if isinstance(s, Literal)][4]
    third_body = next(s for s in plan.segments if isinstance(s, Body) and s.entry == entries[2])
    for entry in entries[:2]:
        entry.path.unlink()

    # When ranges start at the third entry's header and inside its body
    # Then they are served in full from the files that remain
    assert third_header.offset < third_body.offset
    for start in (third_header.offset, third_body.offset, third_body.offset + 1):
        assert plan_bytes(plan, start) == full[start:]

    # And a range over the vanished files fails, proving they were needed only there
    with pytest.raises(ArchiveSourceChanged):
        plan_bytes(plan)


def test_the_plan_is_known_without_reading_any_file(tmp_path):
    # Given entries whose files do not exist
    entries = [
        ArchiveEntry("a/a_var01.mp4", tmp_path / "missing", 5, 0x1234, MODIFIED_AT),
        ArchiveEntry("a/a_var02.mp4", tmp_path / "gone", 7, 0x5678, MODIFIED_AT),
    ]

    # When the archive is planned
    plan = build_plan(entries)

    # Then its size and ETag are known, and the same entries give the same ETag
    assert plan.size == len(_sized_stream_of_unread_iterables([(e.name, e.size) for e in entries]))
    assert plan.etag == build_plan(list(entries)).etag
    assert plan.etag.startswith('"') and plan.etag.endswith('"')


def test_the_etag_changes_with_any_name_size_crc_or_time():
    # Given a base entry
    base = ArchiveEntry("a/a_var01.mp4", Path(os.devnull), 5, 1, MODIFIED_AT)
    variants = [
        replace(base, name="b/b_var01.mp4"),
        replace(base, size=6),
        replace(base, crc32=2),
        replace(base, modified_at=MODIFIED_AT.replace(year=2025)),
    ]

    # When each differs in one recorded fact
    # Then every ETag differs from the base's and from each other's
    tags = {build_plan([entry]).etag for entry in [base, *variants]}
    assert len(tags) == 5


def test_a_file_truncated_after_planning_stops_the_stream_before_its_short_point(entries):
    # Given a plan, after which the last file loses its second half
    plan = build_plan(entries)
    last = entries[3]
    body = next(s for s in plan.segments if isinstance(s, Body) and s.entry == last)
    os.truncate(last.path, last.size // 2)
    produced = 0

    # When the archive is streamed
    with pytest.raises(ArchiveSourceChanged) as raised:
        for chunk in iter_range(plan, 0, plan.size, chunk_size=4096):
            produced += len(chunk)

    # Then it fails before any of that file's bytes, naming the file and its sizes
    assert produced <= body.offset
    assert raised.value.fields == {
        "path": str(last.path),
        "expected_size": last.size,
        "actual_size": last.size // 2,
    }
    assert raised.value.code == "output_missing" and raised.value.status == 500


def test_a_file_shrinking_mid_read_stops_the_stream_at_the_short_read(entries):
    # Given a stream that has begun reading the last file's body
    plan = build_plan(entries)
    last = entries[3]
    body = next(s for s in plan.segments if isinstance(s, Body) and s.entry == last)
    chunks = iter_range(plan, body.offset, plan.size, chunk_size=4096)
    first = next(chunks)

    # When the file shrinks under it
    os.truncate(last.path, 10_000)

    # Then the next read fails instead of producing bytes the file no longer has
    produced = len(first)
    with pytest.raises(ArchiveSourceChanged):
        for chunk in chunks:
            produced += len(chunk)
    assert produced <= 10_000


def test_check_sources_reports_missing_and_resized_files(entries):
    # Given a plan, after which one file vanishes and another grows
    plan = build_plan(entries)
    entries[0].path.unlink()
    with entries[2].path.open("ab") as file:
        file.write(b"x")

    # When the sources are checked before sending
    problems = check_sources(plan)

    # Then exactly those two are reported
    assert problems == [entries[0].path, entries[2].path]


def test_names_the_library_would_rewrite_are_refused(tmp_path):
    # Given names zipstream-ng or zipfile would change, and a repeated name
    bad = ["/abs.mp4", "a/../b.mp4", "a\\b.mp4", "a\x00b.mp4", "a//b.mp4", "dir/", ""]

    # When each is planned / Then the plan refuses it
    for name in bad:
        with pytest.raises(ValueError):
            build_plan([ArchiveEntry(name, tmp_path / "x", 0, 0, MODIFIED_AT)])
    twice = [ArchiveEntry("a/a.mp4", tmp_path / "x", 0, 0, MODIFIED_AT)] * 2
    with pytest.raises(ValueError):
        build_plan(twice)


def test_ranges_outside_the_archive_are_refused(entries):
    plan = build_plan(entries)
    for start, end in [(-1, 5), (5, 4), (0, plan.size + 1)]:
        with pytest.raises(ValueError):
            next(iter_range(plan, start, end))
    assert list(iter_range(plan, plan.size, plan.size)) == []


def _sized_stream_of_unread_iterables(sizes: list[tuple[str, int]]) -> ZipStream:
    """A sized library stream whose length is computed without any data."""
    stream = ZipStream(sized=True)
    for name, size in sizes:
        stream.add(iter(()), name, size=size)
    return stream
