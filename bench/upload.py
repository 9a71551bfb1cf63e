"""Upload throughput and server memory: one job of N large files over HTTP vs a plain copy.

Starts `video-refresher serve` in a subprocess (the embedded PostgreSQL, or a fresh
database on the VR_DATABASE_URL server when set), logs in as the first-run admin, posts
one job with a streaming client (files read 1 MiB at a time; never whole in memory), and
prints MiB/s next to `shutil.copyfile` + fsync of the same bytes to the same disk, plus
the server process's peak RSS growth sampled every 50 ms during the upload. Each round
also sends the same files by tus (issue 11: `POST /api/uploads`, then PATCHes of
`--chunk-mib` each, then the JSON `POST /api/jobs`), so the two doors are measured in
turn under the same load.

    python bench/upload.py                      # 2 x 200 MiB
    python bench/upload.py --files 2 --size-mib 20   # quick run
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._db import fresh_database, server_label  # noqa: E402
from bench._seed import FTYP  # noqa: E402
from bench._serve import free_port  # noqa: E402

MIB = 2**20
CHUNK = MIB


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


class Server:
    """`video-refresher serve` in a subprocess; stderr is drained to catch the admin password."""

    def __init__(
        self, data_dir: Path, port: int, max_upload: int, database_url: str | None
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VR_")}
        if database_url:
            env["VR_DATABASE_URL"] = database_url
        env.update(
            VR_DATA_DIR=str(data_dir),
            VR_PORT=str(port),
            VR_MAX_UPLOAD_BYTES=str(max_upload),
            PYTHONPATH=str(ROOT),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = f"http://127.0.0.1:{port}"

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("server did not become ready:\n" + "".join(self.lines[-20:]))

    def admin_password(self) -> str:
        for line in self.lines:
            found = re.search(r"Password: (\S+)", line)
            if found:
                return found.group(1)
        raise SystemExit("no first-run admin password logged (is the database fresh?)")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


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


async def stream(pieces: list[bytes | Path]) -> AsyncIterator[bytes]:
    """Yield the body, reading files 1 MiB at a time in a thread."""
    for piece in pieces:
        if isinstance(piece, bytes):
            yield piece
            continue
        f = await asyncio.to_thread(open, piece, "rb")
        try:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk
        finally:
            await asyncio.to_thread(f.close)


async def upload(url: str, password: str, source: Path, files: int) -> tuple[float, int]:
    boundary = uuid.uuid4().hex
    pieces = multipart_layout(source, files, boundary)
    length = layout_length(pieces)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        login = await session.post(
            f"{url}/api/auth/login", json={"username": "admin", "password": password}
        )
        token = (await login.json())["token"]
        started = time.perf_counter()
        response = await session.post(
            f"{url}/api/jobs",
            data=stream(pieces),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(length),
            },
        )
        body = await response.text()
        elapsed = time.perf_counter() - started
        if response.status != 202:
            raise SystemExit(f"upload failed: {response.status} {body}")
    return elapsed, length


async def tus_upload(
    url: str, password: str, source: Path, files: int, chunk: int
) -> tuple[float, int]:
    """The same job through the tus door: each file created, then PATCHed `chunk` bytes at a
    time (each PATCH streamed from the file 1 MiB at a time), then one JSON job request.
    Timed from the first request to the job's 202, as the multipart upload is."""
    size = (await asyncio.to_thread(source.stat)).st_size
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        login = await session.post(
            f"{url}/api/auth/login", json={"username": "admin", "password": password}
        )
        auth = {"Authorization": f"Bearer {(await login.json())['token']}"}
        tus = {**auth, "Tus-Resumable": "1.0.0"}
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
                response = await session.patch(
                    location,
                    data=file_slice(source, offset, length),
                    headers={
                        **tus,
                        "Upload-Offset": str(offset),
                        "Content-Length": str(length),
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
                if response.status != 204:
                    raise SystemExit(f"tus PATCH failed: {response.status} {await response.text()}")
            ids.append(location.rsplit("/", 1)[1])
        response = await session.post(
            f"{url}/api/jobs", json={"uploads": ids, "variations": 2}, headers=auth
        )
        body = await response.text()
        elapsed = time.perf_counter() - started
        if response.status != 202:
            raise SystemExit(f"job from uploads failed: {response.status} {body}")
    return elapsed, files * size


async def file_slice(path: Path, offset: int, length: int) -> AsyncIterator[bytes]:
    """`length` bytes of `path` from `offset`, read 1 MiB at a time in a thread."""
    f = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(f.seek, offset)
        left = length
        while left > 0:
            data = await asyncio.to_thread(f.read, min(CHUNK, left))
            left -= len(data)
            yield data
    finally:
        await asyncio.to_thread(f.close)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="copy/multipart/tus, alternating")
    parser.add_argument("--chunk-mib", type=int, default=8, help="tus PATCH size")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory (a temp dir)")
    asyncio.run(run(parser.parse_args()))


async def run(args: argparse.Namespace) -> None:
    """With VR_DATABASE_URL, the service gets a fresh database on that server (dropped
    afterwards); without it, `serve` starts the embedded server in the scratch data dir."""
    scratch = Path(tempfile.mkdtemp(prefix="vr-bench-upload-", dir=args.dir))
    try:
        source = scratch / "source.mp4"
        await asyncio.to_thread(make_source, source, args.size_mib * MIB)
        if os.environ.get("VR_DATABASE_URL"):
            async with fresh_database() as url:
                rounds = await measure(args, scratch, source, url)
        else:
            rounds = await measure(args, scratch, source, None)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"{args.files} x {args.size_mib} MiB, {len(rounds)} rounds (copy, multipart, tus in "
        f"{args.chunk_mib} MiB PATCHes), {server_label()}:"
    )
    for n, (copy, rate, growth, tus_rate, tus_growth) in enumerate(rounds, 1):
        print(
            f"  round {n}: copy {copy:5.0f} MiB/s  multipart {rate:4.0f} MiB/s "
            f"(RSS +{growth / MIB:.1f} MiB)  tus {tus_rate:4.0f} MiB/s "
            f"(RSS +{tus_growth / MIB:.1f} MiB)  tus/multipart {tus_rate / rate:.2f}x"
        )
    copy = statistics.median(r[0] for r in rounds)
    rate = statistics.median(r[1] for r in rounds)
    tus_rate = statistics.median(r[3] for r in rounds)
    ratios = sorted(r[3] / r[1] for r in rounds)
    growth = max(r[2] for r in rounds)
    tus_growth = max(r[4] for r in rounds)
    print(
        f"median multipart {rate:.0f} MiB/s, median tus {tus_rate:.0f} MiB/s, "
        f"median copy (shutil.copyfile + fsync) {copy:.0f} MiB/s"
    )
    print(f"multipart: {rate / copy:.2f}x the copy rate (target >= 0.5x)")
    print(
        f"tus: {tus_rate / rate:.2f}x the multipart rate (medians; per-round ratios "
        f"{ratios[0]:.2f}-{ratios[-1]:.2f}x, median {statistics.median(ratios):.2f}x; "
        "target >= 0.9x)"
    )
    print(
        f"server peak RSS growth: multipart {growth / MIB:.1f} MiB, tus {tus_growth / MIB:.1f} "
        "MiB at most (target <= 32 MiB)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


async def measure(
    args: argparse.Namespace, scratch: Path, source: Path, database_url: str | None
) -> list[tuple[float, float, int, float, int]]:
    """Alternate a copy, a multipart upload and a tus upload `args.rounds` times, so the
    host's disk caching (which swings a copy of this size from ~300 to ~1400 MiB/s here)
    and the other load on the machine hit all three alike; per round: (copy MiB/s,
    multipart MiB/s, its peak RSS growth in bytes, tus MiB/s, its peak RSS growth)."""
    max_upload = args.size_mib * MIB + MIB
    server = await asyncio.to_thread(
        Server, scratch / "data", free_port(), max_upload, database_url
    )
    rounds = []
    try:
        await asyncio.to_thread(server.wait_ready)
        password = server.admin_password()
        for _ in range(args.rounds):
            copy = await asyncio.to_thread(copy_rate, source, scratch, args.files)
            rss = PeakRss(server.process.pid)
            elapsed, length = await upload(server.url, password, source, args.files)
            growth = rss.stop()
            rss = PeakRss(server.process.pid)
            tus_elapsed, tus_length = await tus_upload(
                server.url, password, source, args.files, args.chunk_mib * MIB
            )
            rounds.append(
                (copy, length / MIB / elapsed, growth, tus_length / MIB / tus_elapsed, rss.stop())
            )
    finally:
        await asyncio.to_thread(server.stop)
    return rounds


if __name__ == "__main__":
    main()
