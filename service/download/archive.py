"""A STORE ZIP whose every byte is known before any file is read, so any range can be served.

Each output's size and CRC-32 are recorded when it is rendered. From those alone
zipstream-ng's per-entry `ZipStreamInfo` builds the same local header, data descriptor and
central-directory record that `ZipStream(sized=True).add_path(path, name)` writes for a
regular 0644 file whose mtime is `modified_at` (the process running in UTC); the end
records and the Zip64 choices mirror `ZipStream._gen_archive_footer` and
`ZipStreamInfo._file_data`. The plan is then a list of segments: literal bytes (headers,
descriptors, directory) and file bodies, which are plain slices of the files on disk.
A test proves the plan equals the library's own stream byte for byte.

Any byte range maps to literal bytes and file slices without reading anything
(`iter_pieces`); the HTTP download sends the slices with sendfile (download/send.py),
`iter_range` reads them into chunks for everything else.

Zip64 follows the library, whose limit is `zipfile.ZIP64_LIMIT` (2 GiB - 1, not 4 GiB):
Zip64 local fields for a body over that / 1.05, Zip64 directory fields past it, Zip64 end
records from 65535 entries on. (At exactly 65535 entries the library's own `len()` is one
record short of its bytes; the plan follows the bytes.)
"""

from __future__ import annotations

import bisect
import hashlib
import os
import posixpath
import stat
import struct
import zipfile
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from zipstream.ng import ZIP64_ESTIMATE_FACTOR, ZipStreamInfo

from service.errors import ArchiveSourceChanged
from service.storage.disk import disk_etag

# Bytes per chunk when `iter_range` reads the archive: big enough that per-chunk costs
# (a thread hop is ~0.1 ms) stay far below the transfer time.
CHUNK_SIZE = 1024 * 1024

# Entries are written as regular files with rw-r--r--, what `add_path` records for such a file.
ENTRY_MODE = stat.S_IFREG | 0o644

# General-purpose flag bit 3: CRC and sizes follow the body in a data descriptor.
_FLAG_DATA_DESCRIPTOR = 1 << 3

# zipstream-ng writes Zip64 end records from this many entries on (`>=`, not `>`).
_ZIP64_ENTRY_COUNT = zipfile.ZIP_FILECOUNT_LIMIT


@dataclass(frozen=True)
class ArchiveEntry:
    """One file to store: its name in the archive and its recorded size, CRC and time.

    `path` is the body's file when it lies on this machine (sent with sendfile); a remote
    body (`path` None) is read from storage by `key`, guarded by its recorded `etag`.
    """

    name: str
    path: Path | None
    size: int
    crc32: int
    modified_at: datetime
    key: str = ""
    etag: str | None = None


@dataclass(frozen=True)
class Literal:
    """Bytes of the archive that the plan holds: a header, a descriptor, the directory."""

    offset: int
    data: bytes

    @property
    def length(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Body:
    """An entry's stored content: the whole of one file, read only when sent."""

    offset: int
    entry: ArchiveEntry

    @property
    def length(self) -> int:
        return self.entry.size


Segment = Literal | Body


@dataclass(frozen=True)
class ArchivePlan:
    """The archive's exact byte layout: consecutive segments from offset 0 to `size`."""

    segments: tuple[Segment, ...]
    size: int
    etag: str

    def __len__(self) -> int:
        return self.size

    @property
    def entries(self) -> list[ArchiveEntry]:
        return [segment.entry for segment in self.segments if isinstance(segment, Body)]


def build_plan(entries: Sequence[ArchiveEntry]) -> ArchivePlan:
    """Lay out the archive from the recorded sizes and CRCs alone; no file is touched."""
    _check_names(entries)
    segments: list[Segment] = []
    directory: list[bytes] = []
    offset = 0
    for entry in entries:
        info = _entry_info(entry, header_offset=offset)
        # Same rule as ZipStreamInfo._file_data: STORE output equals the input size.
        zip64 = entry.size * ZIP64_ESTIMATE_FACTOR > zipfile.ZIP64_LIMIT
        header = info.FileHeader(zip64)  # also raises the versions the directory repeats
        segments.append(Literal(offset, header))
        segments.append(Body(offset + len(header), entry))
        descriptor = info.DataDescriptor(zip64)
        segments.append(Literal(offset + len(header) + entry.size, descriptor))
        offset += len(header) + entry.size + len(descriptor)
        directory.append(info._central_directory_header_data())
    footer = _footer(directory, directory_offset=offset, count=len(entries))
    segments.append(Literal(offset, footer))
    size = offset + len(footer)
    return ArchivePlan(tuple(segments), size, _etag(segments))


@dataclass(frozen=True)
class FileSlice:
    """Bytes [first, last) of one entry's file, as they appear in the archive."""

    entry: ArchiveEntry
    first: int
    last: int


def iter_pieces(plan: ArchivePlan, start: int, end: int) -> Iterator[bytes | FileSlice]:
    """Bytes [start, end) of the archive as literal bytes (adjacent literals joined) and
    file slices, in order. Nothing is read: the caller reads or sends the slices."""
    if not 0 <= start <= end <= plan.size:
        raise ValueError(f"range [{start}, {end}) is outside the {plan.size}-byte archive")
    pending = b""
    index = bisect.bisect_right([segment.offset for segment in plan.segments], start) - 1
    for segment in plan.segments[max(index, 0) :]:
        if segment.offset >= end:
            break
        first = max(start, segment.offset) - segment.offset
        last = min(end, segment.offset + segment.length) - segment.offset
        if isinstance(segment, Literal):
            pending += segment.data[first:last]
        elif last > first:
            if pending:
                yield pending
                pending = b""
            yield FileSlice(segment.entry, first, last)
    if pending:
        yield pending


def iter_range(
    plan: ArchivePlan, start: int, end: int, chunk_size: int = CHUNK_SIZE
) -> Generator[bytes, None, None]:
    """Bytes [start, end) of the archive, in chunks of at most `chunk_size`.

    Files whose bodies lie outside the range are never opened; each file is open only
    while its slice is read. A file that is missing or not the planned size raises
    ArchiveSourceChanged before any byte past the difference is produced, so the
    transfer is cut short instead of yielding a well-formed ZIP missing an entry.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    pending = bytearray()
    for piece in iter_pieces(plan, start, end):
        if isinstance(piece, bytes):
            pending += piece
            while len(pending) >= chunk_size:
                yield bytes(pending[:chunk_size])
                del pending[:chunk_size]
            continue
        for data in _read_body(piece.entry, piece.first, piece.last, chunk_size, len(pending)):
            if pending:
                pending += data
                data = bytes(pending)
                pending.clear()
            yield data
    if pending:
        yield bytes(pending)


def check_sources(plan: ArchivePlan) -> list[Path]:
    """The planned local files that are missing, not their recorded size, or (when an ETag
    is recorded) not the very file that was recorded.

    Blocking (one stat per entry): runs in a thread, before the reply's first byte.
    """
    problems = []
    for entry in plan.entries:
        if entry.path is None:
            continue  # remote: download/sources.py asks the store
        try:
            stat = os.stat(entry.path)
        except OSError:
            problems.append(entry.path)
            continue
        if stat.st_size != entry.size or (entry.etag and disk_etag(stat) != entry.etag):
            problems.append(entry.path)
    return problems


def _read_body(
    entry: ArchiveEntry, first: int, last: int, chunk_size: int, already_pending: int
) -> Iterator[bytes]:
    """Bytes [first, last) of one file; the first read tops up the pending literal bytes
    to a full chunk. The descriptor is open only while this generator runs."""
    if entry.path is None:
        raise ValueError(f"{entry.key}: iter_range reads local files only")
    try:
        fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise ArchiveSourceChanged(str(entry.path), entry.size, None) from error
    try:
        actual = os.fstat(fd).st_size
        if actual != entry.size:
            raise ArchiveSourceChanged(str(entry.path), entry.size, actual)
        position = first
        room = chunk_size - already_pending
        while position < last:
            want = min(room, last - position)
            data = os.pread(fd, want, position)
            if len(data) != want:
                raise ArchiveSourceChanged(str(entry.path), entry.size, position + len(data))
            position += want
            room = chunk_size
            yield data
    finally:
        os.close(fd)


def _entry_info(entry: ArchiveEntry, header_offset: int) -> ZipStreamInfo:
    """The library's per-entry record, filled in as after it streamed this file."""
    if entry.modified_at.tzinfo is None:
        raise ValueError(f"{entry.name!r}: modified_at must be timezone-aware")
    if not 0 <= entry.crc32 <= 0xFFFFFFFF or entry.size < 0:
        raise ValueError(f"{entry.name!r}: invalid size or CRC-32")
    date_time = entry.modified_at.astimezone(UTC).timetuple()[:6]
    info = ZipStreamInfo(entry.name, date_time)  # clamps to 1980..2107 like the library
    info.external_attr = ENTRY_MODE << 16
    info.compress_type = zipfile.ZIP_STORED
    info.flag_bits |= _FLAG_DATA_DESCRIPTOR
    info.header_offset = header_offset
    info.file_size = info.compress_size = entry.size
    info.CRC = entry.crc32
    return info


def _footer(directory: list[bytes], directory_offset: int, count: int) -> bytes:
    """Central directory plus end records, with Zip64 exactly when the library adds it."""
    records = b"".join(directory)
    directory_size = len(records)
    end64 = b""
    if (
        count >= _ZIP64_ENTRY_COUNT
        or directory_offset > zipfile.ZIP64_LIMIT
        or directory_size > zipfile.ZIP64_LIMIT
    ):
        end64_offset = directory_offset + directory_size
        end64 = struct.pack(
            zipfile.structEndArchive64,
            zipfile.stringEndArchive64,
            44,  # bytes after this field: fixed, no extensible data
            zipfile.ZIP64_VERSION,
            zipfile.ZIP64_VERSION,
            0,
            0,
            count,
            count,
            directory_size,
            directory_offset,
        ) + struct.pack(
            zipfile.structEndArchive64Locator,
            zipfile.stringEndArchive64Locator,
            0,
            end64_offset,
            1,
        )
    end = struct.pack(
        zipfile.structEndArchive,
        zipfile.stringEndArchive,
        0,
        0,
        min(count, 0xFFFF),
        min(count, 0xFFFF),
        min(directory_size, 0xFFFFFFFF),
        min(directory_offset, 0xFFFFFFFF),
        0,  # no archive comment
    )
    return records + end64 + end


def _check_names(entries: Sequence[ArchiveEntry]) -> None:
    """Refuse names the library would rewrite (so bytes would differ) or that repeat."""
    seen: set[str] = set()
    for entry in entries:
        name = entry.name
        if (
            not name
            or "\x00" in name
            or "\\" in name
            or name.startswith("/")
            or name.endswith("/")
            or posixpath.normpath(name) != name
        ):
            raise ValueError(f"unsafe archive entry name {name!r}")
        if name in seen:
            raise ValueError(f"duplicate archive entry name {name!r}")
        seen.add(name)


def _etag(segments: Sequence[Segment]) -> str:
    """A strong ETag: a digest of every byte but the bodies, which their CRC-32 and size in
    the descriptors stand for; equal tags mean equal archives."""
    digest = hashlib.sha256()
    for segment in segments:
        if isinstance(segment, Literal):
            digest.update(segment.offset.to_bytes(8, "little"))
            digest.update(segment.data)
    return f'"{digest.hexdigest()[:32]}"'
