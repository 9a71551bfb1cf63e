"""Zip64 appears exactly where zipstream-ng puts it, and zipfile reads such archives.

zipstream-ng's threshold is `zipfile.ZIP64_LIMIT` (2 GiB - 1), not 4 GiB: a body over
2 GiB / 1.05 gets Zip64 local fields, and offsets past 2 GiB move into Zip64 records.
"""

from __future__ import annotations

import itertools
import os
import zipfile
from collections.abc import Callable, Iterator

import pytest
import zipstream.ng
from zipstream import ZipStream

from service.download.archive import ArchiveEntry, Body, build_plan
from tests.download.builders import (
    MODIFIED_AT,
    PlanReader,
    library_stream,
    plan_bytes,
    sparse_entry,
    write_entry,
)

pytestmark = pytest.mark.usefixtures("utc_local_time")

GIB = 1 << 30
LIMIT = zipfile.ZIP64_LIMIT


def test_plan_size_matches_the_library_at_every_zip64_threshold(tmp_path):
    # Given entry sizes on both sides of each threshold the library applies
    local_threshold = int(LIMIT / 1.05)
    sizes = [local_threshold - 1, local_threshold, local_threshold + 1, LIMIT, LIMIT + 1]
    sizes += [0xFFFFFFFF, 0x100000000, 5 * GIB]

    for first, second in itertools.product(sizes, [0, 10, LIMIT + 1]):
        # When an archive of two entries of those sizes is planned (nothing is read)
        names_sizes = [("a/a_var01.mp4", first), ("é/é_var02.mp4", second)]
        plan = build_plan(
            [
                ArchiveEntry(name, tmp_path / "unread", size, 0, MODIFIED_AT)
                for name, size in names_sizes
            ]
        )
        stream = ZipStream(sized=True)
        for name, size in names_sizes:
            stream.add(iter(()), name, size=size)

        # Then its size is the library's computed length
        assert plan.size == len(stream), (first, second)


def test_an_archive_over_4_gib_is_the_library_stream_and_zipfile_reads_it(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    # Given a small file, a sparse file over 4 GiB, and a small file placed past 4 GiB
    entries = [
        write_entry(tmp_path, "a/a_var01.mp4", b"first"),
        sparse_entry(tmp_path, "big/big_var01.mp4", 4 * GIB + 7),
        write_entry(tmp_path, "ünï/ünï_var01.mp4", b"last entry"),
    ]
    plan = build_plan(entries)
    # The library reads the sparse file's zeros from memory: same bytes, no 4 GiB of reads
    monkeypatch.setattr(zipstream.ng, "_iter_file", _zeros_for({str(entries[1].path)}))
    library = library_stream(entries)
    big = next(s for s in plan.segments if isinstance(s, Body) and s.entry == entries[1])

    # When the library streams the whole archive, and the plan serves each of the
    # library's chunks as a range of its own (inside the big body, every 64th: those
    # bytes are a plain slice of the file)
    # Then every range equals the library's chunk, and the lengths agree
    assert plan.size == len(library)
    position = 0
    for index, chunk in enumerate(library):
        inside_big_body = big.offset < position and position + len(chunk) < big.offset + big.length
        if index % 64 == 0 or not inside_big_body:
            assert plan_bytes(plan, position, position + len(chunk)) == chunk, position
        position += len(chunk)
    assert position == plan.size

    # And zipfile, reading through ranges only, finds Zip64 sizes and offsets
    with zipfile.ZipFile(PlanReader(plan)) as archive:
        infos = archive.infolist()
        assert [i.file_size for i in infos] == [5, 4 * GIB + 7, 10]
        assert [i.compress_size for i in infos] == [5, 4 * GIB + 7, 10]
        assert infos[2].header_offset > 0xFFFFFFFF
        assert archive.read(infos[2]) == b"last entry"
        assert archive.read(infos[0]) == b"first"
        with archive.open(infos[1]) as big:
            assert big.read(1 << 20) == bytes(1 << 20)


def test_a_range_at_the_end_of_a_huge_archive_reads_only_its_own_bytes(tmp_path):
    # Given a plan whose huge first file does not even exist
    huge = ArchiveEntry("huge/huge_var01.mp4", tmp_path / "absent", 5 * GIB, 0, MODIFIED_AT)
    small = write_entry(tmp_path, "s/s_var01.mp4", b"tail")
    plan = build_plan([huge, small])
    body = next(s for s in plan.segments if isinstance(s, Body) and s.entry == small)

    # When the last entry and the directory are requested
    tail = plan_bytes(plan, body.offset)

    # Then they come without the huge file, and zipfile finds the Zip64 end records
    assert tail.startswith(b"tail")
    assert zipfile.stringEndArchive64 in tail and zipfile.stringEndArchive64Locator in tail
    with zipfile.ZipFile(PlanReader(plan)) as archive:
        assert archive.getinfo("huge/huge_var01.mp4").file_size == 5 * GIB
        assert archive.read("s/s_var01.mp4") == b"tail"


def _zeros_for(sparse: set[str]) -> Callable[[object], Iterator[bytes]]:
    """zipstream-ng's file reader, serving the given all-zero files from memory."""
    real = zipstream.ng._iter_file
    block = bytes(zipstream.ng.READ_BUFFER)

    def read(path: object) -> Iterator[bytes]:
        if str(path) not in sparse:
            yield from real(path)
            return
        remaining = os.stat(path).st_size  # type: ignore[arg-type]
        while remaining:
            yield block[: min(remaining, len(block))]
            remaining -= min(remaining, len(block))

    return read
