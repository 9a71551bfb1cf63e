"""Benchmark plumbing: the disk's own rates, with no HTTP and no database, for
bench/upload.py to set the doors against."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from bench._seed import FTYP
from service.tus import files as tus_files

MIB = 2**20
CHUNK = MIB  # every read and write here: the size the upload clients read the source in


def make_source(path: Path, size: int) -> None:
    """Random bytes behind a valid `ftyp` box, written once."""
    with open(path, "wb") as out:
        out.write(FTYP)
        left = size - len(FTYP)
        while left > 0:
            n = min(CHUNK, left)
            out.write(os.urandom(n))
            left -= n


def copy_rate(source: Path, directory: Path, files: int) -> float:
    """MiB/s of shutil.copyfile of `files` copies of `source` into `directory`, each then
    fsynced, as the service fsyncs every upload before it records the job: both rates are
    of bytes on the disk, not in the page cache."""
    started = time.perf_counter()
    for i in range(files):
        copy = directory / f"copy-{i}.bin"
        shutil.copyfile(source, copy)
        with copy.open("rb") as f:
            os.fsync(f.fileno())
    elapsed = time.perf_counter() - started
    for i in range(files):
        (directory / f"copy-{i}.bin").unlink()
    return files * source.stat().st_size / MIB / elapsed


def disk_floor(
    source: Path, directory: Path, files: int, chunk: int, chunked_first: bool
) -> tuple[float, float]:
    """The disk's share of the two doors, without HTTP or the database: MiB/s of writing
    `files` copies of `source` 1 MiB at a time with one fsync per file (as the multipart
    intake stores a file), and of writing them through the tus PATCH code itself
    (`service.tus.files.PatchTarget`: open and lock, cut back, write, fdatasync,
    close) every `chunk` bytes. Their ratio is the most tus could reach against
    multipart if every other cost were equal."""
    size = source.stat().st_size
    src = os.open(source, os.O_RDONLY)

    def whole() -> float:
        started = time.perf_counter()
        for i in range(files):
            fd = os.open(directory / f"whole-{i}.bin", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            for offset in range(0, size, CHUNK):
                os.write(fd, os.pread(src, CHUNK, offset))
            os.fsync(fd)
            os.close(fd)
        return files * size / MIB / (time.perf_counter() - started)

    def chunked() -> float:
        started = time.perf_counter()
        for i in range(files):
            path = directory / f"chunked-{i}.bin"
            tus_files.create(path)
            for start in range(0, size, chunk):
                target = tus_files.PatchTarget(path)
                if target.needs_cut(start):
                    target.prepare(start)
                for offset in range(start, min(start + chunk, size), CHUNK):
                    target.write(os.pread(src, min(CHUNK, size - offset), offset))
                target.sync()
                target.close()
        return files * size / MIB / (time.perf_counter() - started)

    try:
        if chunked_first:
            os.sync()
            by_chunk = chunked()
            os.sync()
            at_once = whole()
        else:
            os.sync()
            at_once = whole()
            os.sync()
            by_chunk = chunked()
    finally:
        os.close(src)
        for name in [f"{kind}-{i}.bin" for kind in ("whole", "chunked") for i in range(files)]:
            (directory / name).unlink(missing_ok=True)
    return at_once, by_chunk
