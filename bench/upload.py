"""Upload throughput and server memory: one job of N large files over HTTP vs a plain copy.

Starts `video-refresher serve` in a subprocess on a fresh database (on the VR_DATABASE_URL
server when set, else on an embedded one), as a user it seeds with a token, posts
one job with a streaming client (files read 1 MiB at a time; never whole in memory), and
prints MiB/s next to `shutil.copyfile` + fsync of the same bytes to the same disk, plus
the server process's peak RSS growth sampled every 50 ms during the upload. Each round
also sends the same files by tus (issue 11: `POST /api/uploads`, then PATCHes of
`--chunk-mib` each, then the JSON `POST /api/jobs`), so the two doors are measured in
turn under the same load.

Fair to both doors: the client reads the source the same way for each (one open file,
one `pread` of 1 MiB per thread hop); which door goes first alternates by round; and each
upload's job is left to settle (its render attempt fails on these non-video bytes, then
its 400 MiB are purged) before the next step, untimed, so that work never lands inside
the other door's timing. Every timed step starts after a `sync`, and each door right
after a copy of the same bytes: on this VM a step that follows a large write runs up to
twice as slow (the host seems to keep writing back behind the guest's sync; a pause of 6 s
does not cure it), and tus, which flushes every PATCH, suffers it far more than
multipart, so each door must follow the same write, never the other door. A disk floor
per round writes the same bytes with no HTTP and no database, once with one fsync per
file (as multipart stores a file) and once through the tus PATCH file code with an fsync
every `--chunk-mib`: their ratio is what tus could reach against multipart if nothing
else differed.

    python bench/upload.py                      # 2 x 200 MiB
    python bench/upload.py --files 2 --size-mib 20   # quick run
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._db import fresh_database, server_label  # noqa: E402
from bench._disk import CHUNK, MIB, copy_rate, disk_floor, make_source  # noqa: E402
from bench._seed import seed_users  # noqa: E402
from bench._serve import running_serve  # noqa: E402

SETTLE_TIMEOUT_S = 300


class PeakRss:
    """Samples one process's RSS every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.baseline


def multipart_layout(source: Path, files: int, boundary: str) -> list[bytes | Path]:
    """The body as literal pieces and files to stream, so its length is known up front."""
    pieces: list[bytes | Path] = []
    for i in range(files):
        pieces.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="videos"; '
            f'filename="clip-{i}.mp4"\r\nContent-Type: video/mp4\r\n\r\n'.encode()
        )
        pieces += [source, b"\r\n"]
    pieces.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="variations"\r\n\r\n2\r\n'
        f"--{boundary}--\r\n".encode()
    )
    return pieces


def layout_length(pieces: list[bytes | Path]) -> int:
    return sum(p.stat().st_size if isinstance(p, Path) else len(p) for p in pieces)


async def file_slice(fd: int, offset: int, length: int) -> AsyncIterator[bytes]:
    """`length` bytes of the open file `fd` from `offset`, 1 MiB per thread hop: both doors
    read their bytes exactly alike, so the client costs the same per byte for each."""
    end = offset + length
    while offset < end:
        data = await asyncio.to_thread(os.pread, fd, min(CHUNK, end - offset), offset)
        offset += len(data)
        yield data


async def stream(pieces: list[bytes | Path], fd: int, size: int) -> AsyncIterator[bytes]:
    """Yield the multipart body; each file piece is the source (`size` bytes), read
    through `fd`."""
    for piece in pieces:
        if isinstance(piece, bytes):
            yield piece
        else:
            async for chunk in file_slice(fd, 0, size):
                yield chunk


async def upload(
    session: aiohttp.ClientSession, url: str, auth: dict[str, str], source: Path, files: int
) -> tuple[float, int, str]:
    """One multipart job of `files` copies of `source`: (seconds, bytes, job id)."""
    boundary = uuid.uuid4().hex
    pieces = multipart_layout(source, files, boundary)
    length = await asyncio.to_thread(layout_length, pieces)
    size = (await asyncio.to_thread(source.stat)).st_size
    fd = await asyncio.to_thread(os.open, source, os.O_RDONLY)
    try:
        started = time.perf_counter()
        response = await session.post(
            f"{url}/api/jobs",
            data=stream(pieces, fd, size),
            headers={
                **auth,
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(length),
            },
        )
        body = await response.text()
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.to_thread(os.close, fd)
    if response.status != 202:
        raise SystemExit(f"upload failed: {response.status} {body}")
    return elapsed, length, json.loads(body)["job_id"]


async def tus_upload(
    session: aiohttp.ClientSession,
    url: str,
    auth: dict[str, str],
    source: Path,
    files: int,
    chunk: int,
) -> tuple[float, int, str]:
    """The same job through the tus door: each file created, then PATCHed `chunk` bytes at a
    time (each PATCH streamed from the file 1 MiB at a time, as the multipart body is), then
    one JSON job request. Timed from the first request to the job's 202, as the multipart
    upload is: (seconds, bytes, job id)."""
    size = (await asyncio.to_thread(source.stat)).st_size
    tus = {**auth, "Tus-Resumable": "1.0.0"}
    fd = await asyncio.to_thread(os.open, source, os.O_RDONLY)
    try:
        started = time.perf_counter()
        ids = []
        for i in range(files):
            name = base64.b64encode(f"clip-{i}.mp4".encode()).decode()
            created = await session.post(
                f"{url}/api/uploads",
                headers={**tus, "Upload-Length": str(size), "Upload-Metadata": f"filename {name}"},
            )
            if created.status != 201:
                raise SystemExit(f"tus create failed: {created.status} {await created.text()}")
            location = url + created.headers["Location"]
            for offset in range(0, size, chunk):
                length = min(chunk, size - offset)
                async with session.patch(
                    location,
                    data=file_slice(fd, offset, length),
                    headers={
                        **tus,
                        "Upload-Offset": str(offset),
                        "Content-Length": str(length),
                        "Content-Type": "application/offset+octet-stream",
                    },
                ) as response:
                    if response.status != 204:
                        raise SystemExit(
                            f"tus PATCH failed: {response.status} {await response.text()}"
                        )
            ids.append(location.rsplit("/", 1)[1])
        response = await session.post(
            f"{url}/api/jobs", json={"uploads": ids, "variations": 2}, headers=auth
        )
        body = await response.text()
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.to_thread(os.close, fd)
    if response.status != 202:
        raise SystemExit(f"job from uploads failed: {response.status} {body}")
    return elapsed, files * size, json.loads(body)["job_id"]


async def settle(
    session: aiohttp.ClientSession, url: str, auth: dict[str, str], job_id: str
) -> None:
    """Wait (untimed) until the job's uploads are purged: its render attempt (the bytes are
    no video, so it fails at once) and the deletion of its 400 MiB then cannot fall inside
    the next upload's timing, which would tax whichever door runs second."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        async with session.get(f"{url}/api/jobs/{job_id}", headers=auth) as response:
            if (await response.json()).get("uploads_purged"):
                return
        await asyncio.sleep(0.2)
    print(f"warning: job {job_id} not purged after {SETTLE_TIMEOUT_S} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="copy, floor, both doors (>= 2)")
    parser.add_argument("--chunk-mib", type=int, default=8, help="tus PATCH size")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory (a temp dir)")
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: the doors take turns going first")
    asyncio.run(run(args))


async def run(args: argparse.Namespace) -> None:
    """The service gets a fresh database on the VR_DATABASE_URL server, or on an embedded
    one started for the run; dropped afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="vr-bench-upload-", dir=args.dir))
    load_start = os.getloadavg()
    try:
        source = scratch / "source.mp4"
        await asyncio.to_thread(make_source, source, args.size_mib * MIB)
        async with fresh_database() as url:
            rounds = await measure(args, scratch, source, url)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report(args, rounds, load_start)


def report(args: argparse.Namespace, rounds: list[Round], load_start: tuple[float, ...]) -> None:
    print(
        f"{args.files} x {args.size_mib} MiB, {len(rounds)} rounds (disk floor, then a copy "
        f"before each door: multipart, and tus in {args.chunk_mib} MiB PATCHes, the first "
        "alternating), "
        f"{server_label()}:"
    )
    for n, r in enumerate(rounds, 1):
        print(
            f"  round {n} (load {r.load:4.1f}, {r.first} first): copy {r.copy:5.0f} MiB/s  "
            f"floor {r.chunked / r.whole:.2f}x ({r.chunked:.0f}/{r.whole:.0f} MiB/s)  "
            f"multipart {r.multipart:4.0f} MiB/s (RSS +{r.multipart_rss / MIB:.1f} MiB)  "
            f"tus {r.tus:4.0f} MiB/s (RSS +{r.tus_rss / MIB:.1f} MiB)  "
            f"tus/multipart {r.tus / r.multipart:.2f}x"
        )
    copy = statistics.median(r.copy for r in rounds)
    rate = statistics.median(r.multipart for r in rounds)
    tus_rate = statistics.median(r.tus for r in rounds)
    print(
        f"median multipart {rate:.0f} MiB/s, median tus {tus_rate:.0f} MiB/s, "
        f"median copy (shutil.copyfile + fsync) {copy:.0f} MiB/s"
    )
    print(f"multipart: {rate / copy:.2f}x the copy rate (target >= 0.5x)")
    tus_first = [r.tus / r.multipart for r in rounds if r.first == "tus"]
    multipart_first = [r.tus / r.multipart for r in rounds if r.first == "multipart"]
    print(
        f"tus: {balanced(tus_first, multipart_first):.2f}x the multipart rate, balanced for "
        f"order (target >= 0.9x): median {statistics.median(tus_first):.2f}x in rounds where "
        f"tus went first, {statistics.median(multipart_first):.2f}x where multipart did"
    )
    chunked_first = [r.chunked / r.whole for r in rounds if r.first == "tus"]
    whole_first = [r.chunked / r.whole for r in rounds if r.first == "multipart"]
    print(
        f"disk floor, no HTTP (the same bytes fsynced every {args.chunk_mib} MiB as PATCHes "
        f"are, against once per file): {balanced(chunked_first, whole_first):.2f}x, balanced "
        f"for order: median {statistics.median(chunked_first):.2f}x where the chunked "
        f"writes went first, {statistics.median(whole_first):.2f}x where they went second"
    )
    print(
        f"server peak RSS growth during one upload: multipart "
        f"{max(r.multipart_rss for r in rounds) / MIB:.1f} MiB, tus "
        f"{max(r.tus_rss for r in rounds) / MIB:.1f} MiB at most (target <= 32 MiB)"
    )
    print(
        f"load average (1 min): {load_start[0]:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end"
    )


def balanced(first: list[float], second: list[float]) -> float:
    """The geometric mean of two medians of ratios, one from the rounds where each side
    went first: on this machine whichever of two steps runs second is up to twice as slow
    (an effect of the VM's disk that a sync and a pause do not remove), so only a ratio
    that weighs both orders alike is fair to both."""
    return math.sqrt(statistics.median(first) * statistics.median(second))


@dataclass(frozen=True)
class Round:
    load: float  # 1-minute load average as the round began
    copy: float  # MiB/s of shutil.copyfile + fsync, the mean of the two (one before each door)
    whole: float  # MiB/s of the disk floor, one fsync per file
    chunked: float  # the same, fsynced every PATCH's worth
    first: str  # the door that went first this round
    multipart: float
    multipart_rss: int  # peak server RSS growth over the RSS as this upload began, bytes
    tus: float
    tus_rss: int


async def measure(
    args: argparse.Namespace, scratch: Path, source: Path, database_url: str
) -> list[Round]:
    """Per round: the disk floor, then both doors, the one going first alternating (so the
    host's disk caching, which swings a copy of this size from ~300 to ~1400 MiB/s here,
    and the other load on the machine hit all alike), each door right after a copy of the
    same bytes (so both follow the same write, not one the other), each upload's job
    settled before the next step."""
    max_upload = args.size_mib * MIB + MIB
    chunk = args.chunk_mib * MIB
    ((_, token),) = await seed_users(database_url, 1, "upload")
    auth = {"Authorization": f"Bearer {token}"}
    rounds = []
    async with running_serve(
        database_url, scratch / "data", role="all", max_upload_bytes=str(max_upload)
    ) as server:
        for n in range(args.rounds):
            load = os.getloadavg()[0]
            whole, chunked = await asyncio.to_thread(
                disk_floor, source, scratch, args.files, chunk, n % 2 == 1
            )
            doors = ["multipart", "tus"] if n % 2 == 0 else ["tus", "multipart"]
            rates: dict[str, tuple[float, int]] = {}
            copies = []
            for door in doors:
                timeout = aiohttp.ClientTimeout(total=None)
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    await asyncio.to_thread(os.sync)
                    copies.append(await asyncio.to_thread(copy_rate, source, scratch, args.files))
                    rss = PeakRss(server.pid)
                    if door == "multipart":
                        elapsed, length, job = await upload(
                            session, server.url, auth, source, args.files
                        )
                    else:
                        elapsed, length, job = await tus_upload(
                            session, server.url, auth, source, args.files, chunk
                        )
                    rates[door] = (length / MIB / elapsed, rss.stop())
                    await settle(session, server.url, auth, job)
            rounds.append(
                Round(
                    load,
                    statistics.mean(copies),
                    whole,
                    chunked,
                    doors[0],
                    *rates["multipart"],
                    *rates["tus"],
                )
            )
    return rounds


if __name__ == "__main__":
    main()
